"""What the reliability tests and `make chaos` share: fast-failing definitions, a pipeline whose deletes arrive by
webhook as in production, syncing (and enrolling) until quiet, a busy store's 5-minute intervals with what each
sync cost, and the equalities that must hold once it is quiet.

The equalities are returned as lists of problems rather than asserted, so that the chaos runner can count them
(rows lost, duplicates) and the tests can show every one at once.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb

from bc_pipeline.bigcommerce.client import BigCommerceClient
from bc_pipeline.bigcommerce.extract import SAFETY_LAG
from bc_pipeline.bigcommerce.pacing import RatePacer
from bc_pipeline.definitions import defs
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.enrolment.budget import ALLOWANCE_WINDOW, CLOCK_MARGIN
from bc_pipeline.enrolment.enrol import EnrolmentResult, enrol_new_contacts
from bc_pipeline.paths import pipeline_home
from bc_pipeline.resources import BigCommerceResource, DotmailerResource
from bc_pipeline.sandbox.bigcommerce import BigCommerceSandboxConfig
from bc_pipeline.sandbox.dotmailer import DotmailerSandboxConfig
from bc_pipeline.sandbox.serve import SandboxPair, start_sandboxes
from bc_pipeline.sandbox.server import RunningServer, serve_in_thread
from bc_pipeline.settings import load_settings
from bc_pipeline.sync_runner import SyncSummary, run_sync
from bc_pipeline.webhooks.receiver import DEFAULT_SECRET_HEADER, WEBHOOK_PATH, create_receiver_app
from bc_pipeline_tests.insight.expected import catalog_collection, orders_collection
from bc_pipeline_tests.pipeline.expected import book_members, consented_subscribers, key, store_contacts

STREAMS = ("customers", "subscribers", "orders", "products")
# Many syncs run back to back; the tables of `make chaos` would drown in Dagster's per-step events.
QUIET = "WARNING"
INCOMPLETE = 0
CUSTOMERS_BOOK, SUBSCRIBERS_BOOK = "Store customers", "Store subscribers"
QUIET_SYNCS_MAX = 5
# Two pages per stream, so faults and mid-scan changes can strike between pages.
PAGED_STORE = dict(seed=23, customers=260, subscribers=260, orders=300, products=260)


class FastBigCommerceResource(BigCommerceResource):
    """The shipped resource with waits in milliseconds: the tests exercise retries, not patience."""

    def client(self) -> BigCommerceClient:
        return BigCommerceClient(
            self.api_root(), self.access_token, timeout=(1.0, self.request_timeout_seconds), max_attempts=10,
            max_rate_limited=400, backoff_base_s=0.01, backoff_cap_s=0.1,
            pacer=RatePacer(backoff_base_s=0.01, backoff_cap_s=0.1),
        )


class FastDotmailerResource(DotmailerResource):
    def client(self) -> DotmailerClient:
        # dotmailer's 429s announce a minute's wait; the sandbox's injected ones are over long before that.
        return DotmailerClient(self.api_user, self.api_password, base_url=os.environ["DOTMAILER_API_BASE_URL"],
                               backoff_base=0.01, backoff_cap=0.1, rate_limit_wait_cap=0.1, max_rate_limit_waits=200)


def fast_defs() -> dg.Definitions:
    """`defs` with short client waits (hangs time out after 1.5 s) and imports polled every 0.1 s."""
    return dg.Definitions(
        assets=defs.assets, asset_checks=defs.asset_checks, jobs=defs.jobs, schedules=defs.schedules,
        sensors=defs.sensors,
        resources={
            **defs.resources,
            "bigcommerce": FastBigCommerceResource(store_hash=dg.EnvVar("BC_STORE_HASH"),
                                                   access_token=dg.EnvVar("BC_ACCESS_TOKEN"),
                                                   request_timeout_seconds=1.5),
            "dotmailer": FastDotmailerResource(api_user=dg.EnvVar("DOTMAILER_API_USER"),
                                               api_password=dg.EnvVar("DOTMAILER_API_PASSWORD"),
                                               import_poll_seconds=0.1),
        },
    )


@dataclass
class Pipeline:
    """A connected pipeline: the sandboxes, the webhook receiver, its home and settings."""

    pair: SandboxPair
    home: Path
    settings: Path
    receiver: RunningServer

    @property
    def bigcommerce(self):
        return self.pair.bigcommerce

    @property
    def dotmailer(self):
        return self.pair.dotmailer

    def env(self) -> dict[str, str]:
        """What points the pipeline (in this process or a child) at the sandboxes and its home."""
        return {**self.pair.env(), "BC_PIPELINE_HOME": str(self.home), "BC_PIPELINE_SETTINGS": str(self.settings)}

    def stop(self) -> None:
        self.pair.bigcommerce.close()
        self.pair.stop()
        self.receiver.stop()


WEBHOOK_SECRET = "reliability-webhook-secret"
DELETE_SCOPES = ("store/customer/deleted", "store/subscriber/deleted", "store/product/deleted", "store/order/archived")


def start_pipeline_in(root: Path, bigcommerce: dict | None = None, dotmailer: dict | None = None) -> Pipeline:
    """Both sandboxes (the paged store, with config overrides), the webhook receiver the store's deletes reach the
    pipeline through, and a home under `root`; the caller sets env()."""
    pair = start_sandboxes(BigCommerceSandboxConfig(**{**PAGED_STORE, **(bigcommerce or {})}),
                           DotmailerSandboxConfig(**{"seed": 23, "import_steps": 1, **(dotmailer or {})}))
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    receiver = serve_in_thread(create_receiver_app(home / "inbox.sqlite", WEBHOOK_SECRET))
    for scope in DELETE_SCOPES:
        pair.bigcommerce.hooks.create({"scope": scope, "destination": receiver.url + WEBHOOK_PATH,
                                       "headers": {DEFAULT_SECRET_HEADER: WEBHOOK_SECRET}})
    settings = root / "connector.yaml"
    settings.write_text("history_start_date: 2020-01-01\n", encoding="utf-8")
    return Pipeline(pair, home, settings, receiver)


def _warehouse() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True)


def settle(pair) -> None:
    """Move the store's clock past the extractor's safety lag, so the next sync reads every change made so far."""
    pair.bigcommerce.clock.advance(SAFETY_LAG.total_seconds() + 1)


LOAD_WORK = ("contacts_sent", "removed_from_book", "sent", "deleted")  # address books, then Insight


def is_quiet(summary: SyncSummary) -> bool:
    staged = sum(meta.get("rows_staged", 0) + meta.get("deleted_by_webhook", 0)
                 for name, meta in summary.streams.items() if name != "store")
    moved = sum(meta.get(name) or 0 for meta in summary.loads.values() for name in LOAD_WORK)
    return summary.success and staged == 0 and moved == 0


def sync_until_quiet(pair, definitions: dg.Definitions) -> list[SyncSummary]:
    """Syncs after the faults stop, until one finds nothing to stage and nothing to send."""
    summaries = []
    for _ in range(QUIET_SYNCS_MAX):
        settle(pair)
        summaries.append(run_sync(definitions, log_level=QUIET))
        if is_quiet(summaries[-1]):
            return summaries
    raise AssertionError(f"no quiet sync after {QUIET_SYNCS_MAX}: last failure {summaries[-1].failure}")


@dataclass
class Problems:
    """What differs between the store, DuckDB and dotmailer once quiet, by kind."""

    lost: list[str] = field(default_factory=list)  # in the store, missing (or stale) downstream
    duplicated: list[str] = field(default_factory=list)  # twice where once is the rule
    wrong: list[str] = field(default_factory=list)  # present but must not be (consent, suppression, extras)

    def all(self) -> list[str]:
        return self.lost + self.duplicated + self.wrong


def _expected_rows(pair, stream: str) -> dict[int, dict]:
    records = pair.bigcommerce.export(stream)
    if stream == "orders":
        # /v2/orders lists incomplete orders (status 0) only when asked for them by status.
        records = [r for r in records if r["status_id"] != INCOMPLETE]
    return {r["id"]: r for r in records}


def check_staging(pair, problems: Problems) -> None:
    """Each stream holds the export's ids, each at its newest date_modified, once."""
    with _warehouse() as conn:
        for stream in STREAMS:
            expected = _expected_rows(pair, stream)
            rows = conn.execute(f"SELECT id, raw FROM bigcommerce.{stream}").fetchall()
            staged = {row_id: json.loads(raw) for row_id, raw in rows}
            problems.duplicated += [f"{stream} {i} staged {n} times" for i, n in Counter(i for i, _ in rows).items()
                                    if n > 1]
            problems.lost += [f"{stream} {i} not staged" for i in sorted(set(expected) - set(staged))]
            problems.lost += [
                f"{stream} {i} staged at {staged[i].get('date_modified')}, store has {record['date_modified']}"
                for i, record in expected.items() if i in staged and staged[i].get("date_modified") != record["date_modified"]
            ]
            problems.wrong += [f"{stream} {i} staged but not in the store" for i in sorted(set(staged) - set(expected))]
        line_items = conn.execute("SELECT order_id, id, count(*) FROM bigcommerce.order_line_items GROUP BY ALL").fetchall()
    problems.duplicated += [f"order {o} line {i} staged {n} times" for o, i, n in line_items if n > 1]
    expected_items = {(o["id"], line["id"]) for o in _expected_rows(pair, "orders").values() for line in o["line_items"]}
    problems.lost += [f"order {o} line {i} not staged" for o, i in sorted(expected_items - {(o, i) for o, i, _ in line_items})]


def rejected_email_keys() -> set[str]:
    with _warehouse() as conn:
        return {row[0] for row in conn.execute("SELECT email_key FROM dotmailer.rejected_contacts").fetchall()}


def check_dotmailer(pair, suppressed: set[str], problems: Problems) -> None:
    """Both books, Orders and Catalog_Default as the export implies; consent and suppressions honoured."""
    rejected = rejected_email_keys()
    state = pair.dotmailer.state()
    emails = Counter(key(c["email"]) for c in state["contacts"])
    problems.duplicated += [f"dotmailer holds {n} contacts for {e}" for e, n in emails.items() if n > 1]

    consented = consented_subscribers(pair.bigcommerce)
    expectations = {
        CUSTOMERS_BOOK: store_contacts(pair.bigcommerce) - rejected - suppressed,
        SUBSCRIBERS_BOOK: consented - rejected - suppressed,
    }
    for book, expected in expectations.items():
        members = set(book_members(pair.dotmailer, book))
        problems.lost += [f"{e} missing from {book}" for e in sorted(expected - members)]
        problems.wrong += [f"{e} in {book} but not expected" for e in sorted(members - expected)]
    _check_names(pair, book_members(pair.dotmailer, CUSTOMERS_BOOK), problems)
    subscribed = set(book_members(pair.dotmailer, SUBSCRIBERS_BOOK))
    problems.wrong += [f"{e} subscribed without consent" for e in sorted(subscribed - consented)]
    by_email = {key(c["email"]): c for c in state["contacts"]}
    problems.wrong += [f"suppressed {e} re-subscribed" for e in sorted(suppressed)
                       if e in subscribed or by_email.get(e, {}).get("status") == "Subscribed"]

    insight = {name: {r["key"]: r for r in records} for name, records in state["insight"].items()}
    _compare_collection("Orders", _orders_expected(pair, rejected), insight.get("Orders", {}), problems)
    _compare_collection("Catalog_Default", catalog_collection(pair.bigcommerce), insight.get("Catalog_Default", {}),
                        problems)

    enrolled = Counter((e["programId"], c) for e in state["enrolments"] for c in e["contacts"])
    problems.duplicated += [f"contact {c} enrolled {n} times into program {p}" for (p, c), n in enrolled.items() if n > 1]


def _new_contacts(pair, role: str, since: datetime) -> set[str]:
    """Contacts whose first customer record (for subscribers: first subscriber record, consenting now) was created
    after switch-on; an email the store knew before, in any case, is not new."""
    stream = "customers" if role == "new_customers" else "subscribers"
    records = [r for r in pair.bigcommerce.export(stream) if key(r["email"])]
    first_created: dict[str, datetime] = {}
    for record in records:
        email, created = key(record["email"]), datetime.fromisoformat(record["date_created"])
        first_created[email] = min(first_created.get(email, created), created)
    new = {email for email, created in first_created.items() if created > since}
    if stream == "subscribers":
        new &= {key(r["email"]) for r in records if "marketing_newsletter" in r["consents"]}
    return new


def check_enrolments(pair, automation_on_since: datetime, problems: Problems) -> None:
    """Every contact created since the programs were switched on is in its program, unless dotmailer cannot hold
    it (rejected) or must not mail it (suppressed). Run after enrolment went quiet, so nobody may still wait."""
    state = pair.dotmailer.state()
    emails = {c["id"]: key(c["email"]) for c in state["contacts"]}
    program_ids = {p["name"]: p["id"] for p in state["programs"]}
    enrolled = {(e["programId"], emails[c]) for e in state["enrolments"] for c in e["contacts"]}
    held_out = rejected_email_keys() | {key(s["email"]) for s in state["suppressions"]}
    for role, program in PROGRAMS.items():
        due = _new_contacts(pair, role, automation_on_since) - held_out
        problems.lost += [f"{e} never enrolled into '{program}'" for e in sorted(due)
                          if (program_ids[program], e) not in enrolled]


def _check_names(pair, customers_book: dict[str, dict], problems: Problems) -> None:
    """The mapped default fields carry each customer's newest name (activity edits last names)."""
    for customer in pair.bigcommerce.export("customers"):
        contact = customers_book.get(key(customer["email"]))
        if contact and customer["first_name"].strip():
            held = (contact["dataFields"].get("FIRSTNAME"), contact["dataFields"].get("LASTNAME"))
            expected = (customer["first_name"].strip(), customer["last_name"].strip() or None)
            if held != expected:
                problems.lost.append(f"customer {customer['id']} named {held} in dotmailer, {expected} in the store")


def _orders_expected(pair, rejected: set[str]) -> dict[str, dict]:
    """The expectation's records, with the contact's email that the record also carries (any case, as dotmailer
    matches it); the comparison below reads it case-insensitively."""
    return {k: {**v["json"], "email": v["email_key"]} for k, v in orders_collection(pair.bigcommerce, rejected).items()}


def _compare_collection(name: str, expected: dict, held: dict, problems: Problems) -> None:
    problems.lost += [f"{name} record {k} missing" for k in sorted(set(expected) - set(held))]
    problems.wrong += [f"{name} record {k} not expected" for k in sorted(set(held) - set(expected))]
    problems.lost += [f"{name} record {k} out of date: {_differences(_comparable(held[k]['json']), expected[k])}"
                      for k in sorted(set(expected) & set(held))
                      if _comparable(held[k]["json"]) != expected[k]]


def _comparable(record: dict) -> dict:
    return {**record, "email": key(record["email"])} if "email" in record else record


def _differences(held: dict, expected: dict) -> str:
    names = sorted(n for n in set(held) | set(expected) if held.get(n) != expected.get(n))
    return "; ".join(f"{n}: {held.get(n)} != {expected.get(n)}" for n in names)[:600]


def check_in_step(pair, suppressed: set[str], automation_on_since: datetime | None = None) -> Problems:
    """Everything the store holds now, and nothing it deleted, in staging and in dotmailer; with the moment the
    programs were switched on, also every enrolment due since."""
    problems = Problems()
    check_staging(pair, problems)
    check_dotmailer(pair, suppressed, problems)
    if automation_on_since is not None:
        check_enrolments(pair, automation_on_since, problems)
    return problems


def suppress_some_subscribers(pair, count: int) -> set[str]:
    """Unsubscribe `count` consenting subscribers in dotmailer, as their own unsubscribe clicks would."""
    chosen = sorted(consented_subscribers(pair.bigcommerce))[:count]
    for email in chosen:
        pair.dotmailer.suppress(email)
    return set(chosen)


# --- the fault matrix -------------------------------------------------------------------------------------------

PROGRAMS = {"new_customers": "New customers welcome", "new_subscribers": "New subscribers welcome"}
SETTINGS_WITH_PROGRAMS = "history_start_date: 2020-01-01\nprograms:\n" + "".join(
    f"  {role}: {name}\n" for role, name in PROGRAMS.items())


@dataclass(frozen=True)
class FaultCase:
    """Faults as {kind: (rate, count or None)} for each sandbox."""

    name: str
    bigcommerce: dict = field(default_factory=dict)
    dotmailer: dict = field(default_factory=dict)
    # Sandbox settings some faults need (a tiny quota for 429s with headers, a spent enrolment allowance).
    bigcommerce_config: dict = field(default_factory=dict)
    dotmailer_config: dict = field(default_factory=dict)


@dataclass
class CaseOutcome:
    case: str
    faulted_sync_succeeded: bool
    requests: int
    faults_served: int
    rate_limited: int
    converge_seconds: float
    quiet_after_syncs: int
    problems: Problems


def enrol_new_contacts_now(pair, definitions: dg.Definitions) -> list[EnrolmentResult]:
    """One enrolment run per automation, as the sensors' job makes it."""
    settings = load_settings()
    # Outside a run, EnvVar fields are not resolved yet: build the resource from the environment.
    dotmailer = FastDotmailerResource(api_user=os.environ["DOTMAILER_API_USER"],
                                      api_password=os.environ["DOTMAILER_API_PASSWORD"])
    with definitions.resources["warehouse"].connect() as conn, dotmailer.client() as client:
        return [enrol_new_contacts(conn, client, settings, role, pair.bigcommerce.clock.now()) for role in PROGRAMS]


def switch_automation_on(pipeline: Pipeline, definitions: dg.Definitions) -> datetime:
    """Both programs named in connector.yaml and a first enrolment run, which records the switch-on; returns its
    moment. The clock then moves a second on: contacts created later are new beyond doubt, as switch-on times and
    creation dates share one-second steps."""
    pipeline.settings.write_text(SETTINGS_WITH_PROGRAMS, encoding="utf-8")
    switched_on = pipeline.bigcommerce.clock.now()
    enrol_new_contacts_now(pipeline.pair, definitions)
    pipeline.bigcommerce.clock.advance(1)
    return switched_on


ENROLMENT_RUNS_MAX = 6
# Past the rolling hour the pipeline counts its calls in, margin included, and so past any refusal's pause too.
BUDGET_HOUR_S = (ALLOWANCE_WINDOW + CLOCK_MARGIN).total_seconds() + 1


def enrol_until_quiet(pair, definitions: dg.Definitions) -> None:
    """Enrolment runs until one enrols nobody and leaves nobody waiting. Contacts held back by the hourly budget or
    a spent allowance are due, not missed: the clock moves past the budget hour for them, as the real hour would
    pass before the sensors' next tries."""
    for _ in range(ENROLMENT_RUNS_MAX):
        results = enrol_new_contacts_now(pair, definitions)
        if not any(result.enrolled or result.waiting for result in results):
            return
        if any(result.waiting for result in results):
            pair.bigcommerce.clock.advance(BUDGET_HOUR_S)
    problems = "; ".join(r.problem for r in results if r.problem) or f"{sum(r.waiting for r in results)} waiting"
    raise AssertionError(f"enrolment not quiet after {ENROLMENT_RUNS_MAX} runs: {problems}")


class LiveActivity:
    """Shoppers and staff changing the store on a background thread while a sync runs."""

    def __init__(self, bigcommerce_sandbox, every_s: float = 0.05):
        self._sandbox = bigcommerce_sandbox
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="reliability-activity")

    def _run(self) -> None:
        while not self._stop.wait(self._every_s):
            self._sandbox.activity(1)

    def __enter__(self) -> LiveActivity:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _requests_and_faults(pair) -> tuple[int, int, int]:
    bc, dm = pair.bigcommerce.stats(), pair.dotmailer.stats()
    requests = bc["total_requests"] + dm["total_requests"]
    faults = sum(bc["faults_served"].values()) + sum(dm["faults_served"].values())
    rate_limited = bc["status_counts"].get("429", 0) + dm["status_counts"].get("429", 0)
    return requests, faults, rate_limited


def run_fault_case(pipeline: Pipeline, case: FaultCase, *, suppress: int,
                   definitions: dg.Definitions | None = None) -> CaseOutcome:
    """Live activity, faults on, a sync, faults off, syncs until quiet, enrolment until quiet; then what differs,
    and what it cost.

    `suppress` consenting subscribers are unsubscribed in dotmailer first; none of them may be re-subscribed."""
    definitions = definitions or fast_defs()
    pair = pipeline.pair
    suppressed = suppress_some_subscribers(pair, suppress)
    automation_on_since = switch_automation_on(pipeline, definitions)  # before the store changes
    pair.bigcommerce.activity(30)
    for kind, (rate, count) in case.bigcommerce.items():
        pair.bigcommerce.set_fault(kind, rate, count)
    for kind, (rate, count) in case.dotmailer.items():
        pair.dotmailer.set_fault(kind, rate, count)
    with LiveActivity(pair.bigcommerce):
        faulted = run_sync(definitions, log_level=QUIET)
    pair.bigcommerce.clear_faults()
    pair.dotmailer.clear_faults()

    started = time.monotonic()
    quiet = sync_until_quiet(pair, definitions)
    converge_seconds = time.monotonic() - started
    enrol_until_quiet(pair, definitions)  # its last run is a repeat, which must enrol nobody again
    requests, faults, rate_limited = _requests_and_faults(pair)
    return CaseOutcome(case.name, faulted.success, requests, faults, rate_limited, converge_seconds, len(quiet),
                       check_in_step(pair, suppressed, automation_on_since))


# --- load: a busy store, synced every 5 minutes ------------------------------------------------------------------

SYNC_INTERVAL_S = 300
PAGE_SIZE = 250  # the most rows a BigCommerce page holds
# Beyond one request per stream and one per page of changed rows, a sync asks for the store's details
# (GET /v2/store), and a scan may take one page more to close its window (a page count that is an exact multiple
# of 250, or the page where the two ends of orders' scan meet).
REQUESTS_BEYOND_PAGES = 2
# An interval's changes come in bursts across it, so that their dates spread over the interval, not its last second.
BURSTS_PER_INTERVAL = 5
_STREAM_OF_KIND = {"customer": "customers", "subscriber": "subscribers", "order": "orders", "product": "products"}


class StoreChanges:
    """The rows the store created or changed, and those it deleted, per stream, as its own change events tell.

    Created and changed rows are what an incremental sync must read; deleted ones reach it by webhook instead."""

    def __init__(self, bigcommerce_sandbox):
        self._lock = threading.Lock()
        self._changed: dict[str, set[int]] = {stream: set() for stream in STREAMS}
        self._deleted: dict[str, set[int]] = {stream: set() for stream in STREAMS}
        bigcommerce_sandbox.store.listeners.append(self._on_change)

    def _on_change(self, scope: str, data: dict) -> None:
        kind, event = scope.split("/")[1:3]
        if kind in _STREAM_OF_KIND:
            with self._lock:
                (self._deleted if event == "deleted" else self._changed)[_STREAM_OF_KIND[kind]].add(data["id"])

    def take(self) -> tuple[dict[str, int], int]:
        """Changed rows per stream and deleted rows since the last take."""
        with self._lock:
            changed = {stream: len(ids) for stream, ids in self._changed.items()}
            deleted = sum(len(ids) for ids in self._deleted.values())
            for ids in (*self._changed.values(), *self._deleted.values()):
                ids.clear()
        return changed, deleted


@dataclass(frozen=True)
class LoadSync:
    """One interval: the changes made in it, and what the sync at its end asked of each API and how long it took."""

    changes: int  # changes the activity made, some of them to the same row
    changed_rows: dict[str, int]
    deleted_rows: int
    bigcommerce_requests: dict[str, int]  # by route
    dotmailer_requests: dict[str, int]
    wall_s: float
    failure: str | None

    @property
    def bigcommerce_total(self) -> int:
        return sum(self.bigcommerce_requests.values())

    @property
    def dotmailer_total(self) -> int:
        return sum(self.dotmailer_requests.values())

    @property
    def change_pages(self) -> int:
        """Σ ceil(changed rows / 250) over the streams: the pages no extractor can do without."""
        return sum(math.ceil(rows / PAGE_SIZE) for rows in self.changed_rows.values())

    @property
    def request_bound(self) -> int:
        return len(STREAMS) + self.change_pages + REQUESTS_BEYOND_PAGES

    @property
    def store_changed(self) -> bool:
        return any(self.changed_rows.values()) or self.deleted_rows > 0


@dataclass
class LoadOutcome:
    syncs: list[LoadSync]
    quiet_after_syncs: int
    problems: Problems


def _requests_by_route(pair) -> tuple[Counter, Counter]:
    return Counter(pair.bigcommerce.stats()["requests"]), Counter(pair.dotmailer.stats()["requests"])


def _spread_over_interval(pair, changes: int) -> None:
    """The interval's changes in bursts; the clock ends at the interval's end, when the schedule ticks."""
    for burst in range(BURSTS_PER_INTERVAL):
        pair.bigcommerce.activity(changes * (burst + 1) // BURSTS_PER_INTERVAL - changes * burst // BURSTS_PER_INTERVAL)
        pair.bigcommerce.clock.advance(SYNC_INTERVAL_S / BURSTS_PER_INTERVAL)


def sync_interval(pair, store_changes: StoreChanges, definitions: dg.Definitions, changes: int) -> LoadSync:
    """Five minutes of the store's time with `changes` made in them, then the sync the schedule runs."""
    _spread_over_interval(pair, changes)
    changed_rows, deleted_rows = store_changes.take()
    bigcommerce_before, dotmailer_before = _requests_by_route(pair)
    started = time.monotonic()
    summary = run_sync(definitions, log_level=QUIET)
    wall_s = time.monotonic() - started
    bigcommerce_after, dotmailer_after = _requests_by_route(pair)
    return LoadSync(changes, changed_rows, deleted_rows,
                    dict(bigcommerce_after - bigcommerce_before), dict(dotmailer_after - dotmailer_before), wall_s,
                    None if summary.success else summary.failure)


def run_load(pipeline: Pipeline, changes_per_interval: list[int], on_sync=lambda sync: None) -> LoadOutcome:
    """The first full sync, then each interval's changes and its sync (`on_sync` sees each as it ends); then syncs
    until quiet, and what differs between the store, staging and dotmailer."""
    definitions = fast_defs()
    first = run_sync(definitions, log_level=QUIET)
    if not first.success:
        raise AssertionError(f"the first full sync failed: {first.failure}")
    store_changes = StoreChanges(pipeline.bigcommerce)
    syncs = []
    for changes in changes_per_interval:
        syncs.append(sync_interval(pipeline.pair, store_changes, definitions, changes))
        on_sync(syncs[-1])
    quiet = sync_until_quiet(pipeline.pair, definitions)
    return LoadOutcome(syncs, len(quiet), check_in_step(pipeline.pair, suppressed=set()))


def load_problems(syncs: list[LoadSync]) -> list[str]:
    """Syncs that failed, asked BigCommerce for more than their changes explain, or called dotmailer for nothing."""
    problems = [f"sync {n} failed: {s.failure}" for n, s in enumerate(syncs, 1) if s.failure]
    problems += [f"sync {n}: {s.bigcommerce_total} BigCommerce requests for {s.changed_rows} changed rows, over the "
                 f"bound {s.request_bound}" for n, s in enumerate(syncs, 1) if s.bigcommerce_total > s.request_bound]
    problems += [f"sync {n}: nothing changed, yet dotmailer was called: {s.dotmailer_requests}"
                 for n, s in enumerate(syncs, 1) if not s.store_changed and s.dotmailer_requests]
    return problems
