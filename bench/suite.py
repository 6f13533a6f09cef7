"""The benchmark's sequence of runs, each on a sandbox process of its own, collected for the report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import ours
from bench.outcome import RunOutcome
from bench.sandbox_control import ApiLimits, SandboxProcess, StoreSize

# Our extractor leaves rows stamped in the last 5 s for the next run (SAFETY_LAG); a sync started sooner
# after a change would not see it yet.
SETTLE_S = 6
UNTHROTTLED_QUOTA = 1_000_000
STREAMS_IN_MINIMUM = ("customers", "subscribers", "orders", "products")


@dataclass(frozen=True)
class Plan:
    sizes: tuple[StoreSize, ...]          # the last one is the size of the quota-bound runs
    peer_size: StoreSize
    latency_ms: int
    quotas: tuple[tuple[str, int], ...]   # (label, requests per window)
    window_ms: int
    changes: int
    skip_peers: bool
    workdir: Path

    @property
    def main_size(self) -> StoreSize:
        return self.sizes[-1]

    def limits(self, quota: int) -> ApiLimits:
        return ApiLimits(self.latency_ms, quota, self.window_ms)

    @property
    def unthrottled(self) -> ApiLimits:
        return ApiLimits(self.latency_ms, UNTHROTTLED_QUOTA, self.window_ms)


@dataclass
class StoreFacts:
    """What the store holds that a list endpoint returns: the base of every minimum and every loss count."""
    rows: dict[str, int]
    line_items: int

    @property
    def records(self) -> int:
        return sum(self.rows.values())


@dataclass
class QuotaRuns:
    label: str
    limits: ApiLimits
    store: StoreFacts
    full_sync: RunOutcome
    extract: RunOutcome
    # Only the first quota's runs include these: they measure the extractor's logic, not the quota.
    no_change: RunOutcome | None = None
    incremental: RunOutcome | None = None
    changes: int = 0
    mutate: RunOutcome | None = None


@dataclass
class SizeRuns:
    size: StoreSize
    store: StoreFacts
    full_sync: RunOutcome
    extract: RunOutcome


@dataclass
class PeerRuns:
    tool: str
    version: str
    normal: RunOutcome
    mutate: RunOutcome | None


@dataclass
class Results:
    plan: Plan
    quota_runs: list[QuotaRuns] = field(default_factory=list)
    size_runs: list[SizeRuns] = field(default_factory=list)
    peer_store: StoreFacts | None = None
    peer_runs: list[PeerRuns] = field(default_factory=list)
    peer_failures: list[str] = field(default_factory=list)


def store_facts(sandbox: SandboxProcess) -> StoreFacts:
    rows = {stream: len(sandbox.listed_ids(stream)) for stream in STREAMS_IN_MINIMUM}
    rows["store"] = 1
    return StoreFacts(rows, sandbox.summary("orders").line_items)


def _mutating(sandbox: SandboxProcess, run):
    """`run()` while every list page served modifies its first row, on a freshly generated store."""
    sandbox.reset_store()
    sandbox.set_fault("mutate_during_scan", 1.0)
    try:
        return run()
    finally:
        sandbox.clear_faults()
        sandbox.reset_store()


def quota_bound_runs(plan: Plan, label: str, quota: int, log, complete: bool) -> QuotaRuns:
    workdir = plan.workdir / f"quota-{quota}"
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with SandboxProcess(plan.main_size, plan.limits(quota), workdir) as sandbox:
        store = store_facts(sandbox)
        log(f"[{label}] extractor alone")
        extract = ours.extract_only(sandbox, workdir, "extract", logs)
        home = workdir / "home"
        log(f"[{label}] full sync")
        full = ours.sync(sandbox, home, "full", logs)
        if not complete:
            return QuotaRuns(label, plan.limits(quota), store, full, extract)
        time.sleep(SETTLE_S)
        log(f"[{label}] no-change sync")
        no_change = ours.sync(sandbox, home, "no-change", logs)
        sandbox.activity(plan.changes)
        time.sleep(SETTLE_S)
        log(f"[{label}] incremental sync after {plan.changes} changes")
        incremental = ours.sync(sandbox, home, "incremental", logs)
        log(f"[{label}] extractor alone under mutate_during_scan")
        mutate = _mutating(sandbox, lambda: ours.extract_only(sandbox, workdir, "mutate", logs))
    return QuotaRuns(label, plan.limits(quota), store, full, extract, no_change, incremental, plan.changes, mutate)


def size_runs(plan: Plan, size: StoreSize, log) -> SizeRuns:
    workdir = plan.workdir / f"size-{size.customers}-{size.orders}"
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with SandboxProcess(size, plan.unthrottled, workdir) as sandbox:
        store = store_facts(sandbox)
        log(f"[size {size.label()}] extractor alone")
        extract = ours.extract_only(sandbox, workdir, "extract", logs)
        log(f"[size {size.label()}] full sync")
        full = ours.sync(sandbox, workdir / "home", "full", logs)
    return SizeRuns(size, store, full, extract)


def peer_comparison(plan: Plan, results: Results, log) -> None:
    from bench.peers import airbyte, dlt_rest_api, tap_bigcommerce

    workdir = plan.workdir / "peers"
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with SandboxProcess(plan.peer_size, plan.unthrottled, workdir) as sandbox:
        results.peer_store = store_facts(sandbox)

        def ours_extract(scenario):
            return ours.extract_only(sandbox, workdir, scenario, logs)

        candidates = [
            ("bc_pipeline (extractor)", lambda: "this tree", ours_extract),
            ("dlt rest_api (jsonl)", dlt_rest_api.version,
             lambda scenario: dlt_rest_api.run(sandbox, workdir, logs, scenario, "jsonl")),
            ("dlt rest_api (default)", dlt_rest_api.version,
             lambda scenario: dlt_rest_api.run(sandbox, workdir, logs, scenario, "default")),
            ("Airbyte source-bigcommerce", airbyte.version, lambda scenario: airbyte.run(sandbox, workdir, logs, scenario)),
            ("tap-bigcommerce", tap_bigcommerce.version,
             lambda scenario: tap_bigcommerce.run(sandbox, workdir, logs, scenario)),
        ]
        for tool, version, run in candidates:
            try:
                log(f"[peers] {tool}")
                normal = run("extract")
                log(f"[peers] {tool} under mutate_during_scan")
                mutate = _mutating(sandbox, lambda: run("mutate"))
                results.peer_runs.append(PeerRuns(tool, version(), normal, mutate))
            except Exception as error:  # one peer that cannot install or run must not sink the others
                results.peer_failures.append(f"{tool}: {type(error).__name__}: {error}")
                log(f"[peers] {tool} failed: {error}")


def run_suite(plan: Plan, log=print) -> Results:
    results = Results(plan)
    for index, (label, quota) in enumerate(plan.quotas):
        results.quota_runs.append(quota_bound_runs(plan, label, quota, log, complete=index == 0))
    for size in plan.sizes:
        results.size_runs.append(size_runs(plan, size, log))
    if not plan.skip_peers:
        peer_comparison(plan, results, log)
    return results
