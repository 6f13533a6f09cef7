"""`bc-pipeline status`: what a store owner wants to know at a glance, gathered without ever waiting on a sync.

A running sync holds the DuckDB file's lock, so the warehouse is opened read-only with a short deadline; when
that fails, the Dagster instance (if $DAGSTER_HOME is set) still says how the last sync went. Nothing here reads
a credential, so nothing here can print one.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

from bc_pipeline import instigators
from bc_pipeline.connection import read_connection_record
from bc_pipeline.connection_marker import read_marker
from bc_pipeline.credential_checks import REGION_NAMES
from bc_pipeline.env_file import read_env_file
from bc_pipeline.paths import WAREHOUSE_FILE, pipeline_home
from bc_pipeline.settings import SettingsError, load_settings
from bc_pipeline.sync_rounds import rounds_of, stopped_reading

WAREHOUSE_OPEN_TIMEOUT_S = 2.0
REJECTED_REASONS_SHOWN = 3
SYNC_JOB = "sync"
# Abandoned baskets on their way to an enrolment (bc_pipeline.enrolment.carts); the other states are final.
BASKET_STATES_IN_FLIGHT = ("new", "fetched", "ready", "insight_sent")


@dataclass
class LastSync:
    finished_at: datetime | None
    succeeded: bool | None
    rows_moved: int | None
    # "running" while a sync is in flight, else the Dagster run status or "finished" from the warehouse.
    state: str = "finished"
    # A sync the store's quota split into rounds (see sync_rounds) is told as one, from its first round to its latest.
    rounds: int = 1
    # Its latest round stopped at the quota: the next one reads the rest.
    more_to_read: bool = False


@dataclass
class Status:
    connection: str = "not connected"
    disconnected_at: str | None = None
    store_name: str | None = None
    store_url: str | None = None
    dotmailer_account: str | None = None
    dotmailer_region: str | None = None
    data_sync_setting: bool | None = None
    schedule_running: bool | None = None
    next_tick: datetime | None = None
    last_sync: LastSync | None = None
    sync_running: bool = False
    enrolments_pending: dict[str, int] | None = None
    rejected_rows: int | None = None
    rejected_reasons: list[tuple[str, int]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def data_sync_on(self) -> bool | None:
        # The schedule's state is what the daemon obeys; connector.yaml only sets its default.
        return self.schedule_running if self.schedule_running is not None else self.data_sync_setting


class _WarehouseBusy(Exception):
    pass


def _open_read_only(path: Path, timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-only, or raise `_WarehouseBusy` if it is locked or does not answer in time."""
    answer: queue.Queue = queue.Queue(maxsize=1)

    def attempt() -> None:
        try:
            answer.put(duckdb.connect(str(path), read_only=True))
        except duckdb.Error as exc:
            answer.put(exc)

    # A daemon thread: if DuckDB ever waits on the lock instead of failing, status still returns on time.
    threading.Thread(target=attempt, daemon=True, name="status-warehouse-open").start()
    try:
        result = answer.get(timeout=timeout_s)
    except queue.Empty:
        raise _WarehouseBusy("the warehouse did not open in time") from None
    if isinstance(result, Exception):
        raise _WarehouseBusy(str(result).splitlines()[0])
    return result


def _table_exists(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, table]
    ).fetchone()[0])


def collect_status(
    home: Path | None = None,
    settings_path: Path | None = None,
    instance: dg.DagsterInstance | None = None,
    now: datetime | None = None,
    warehouse_timeout_s: float = WAREHOUSE_OPEN_TIMEOUT_S,
    env_path: Path = Path(".env"),
) -> Status:
    """Everything `bc-pipeline status` shows. `instance` defaults to $DAGSTER_HOME's, when that is set."""
    home = home if home is not None else pipeline_home()
    status = Status()
    _read_connection(status, home, env_path)
    _read_settings(status, settings_path)
    if instance is not None:
        _read_instance(status, instance, now)
    elif instigators.instance_configured():
        try:
            with dg.DagsterInstance.get() as configured:
                _read_instance(status, configured, now)
        except Exception as exc:  # status reports what it can; the instance is one source among several
            status.notes.append(f"the Dagster instance could not be read: {type(exc).__name__}")
    _read_warehouse(status, home / WAREHOUSE_FILE, warehouse_timeout_s)
    return status


def _credentials_present(env_path: Path) -> bool:
    """Whether the store's credentials are set (in the environment or .env); their values are never read out."""
    names = set(os.environ) | set(read_env_file(env_path))
    return {"BC_STORE_HASH", "BC_ACCESS_TOKEN", "DOTMAILER_API_USER", "DOTMAILER_API_PASSWORD"} <= names


def _read_connection(status: Status, home: Path, env_path: Path) -> None:
    record = read_connection_record(home) or {}
    marker = read_marker(home)
    if marker is not None:
        status.connection = "disconnected"
        status.disconnected_at = marker.get("disconnected_at")
    elif record:
        status.connection = "connected"
    elif _credentials_present(env_path):
        status.connection = "connected (credentials from environment variables)"
    status.store_name = record.get("store_name")
    status.store_url = record.get("store_url")
    status.dotmailer_account = record.get("dotmailer_account")
    status.dotmailer_region = record.get("dotmailer_region")


def _read_settings(status: Status, settings_path: Path | None) -> None:
    try:
        status.data_sync_setting = load_settings(settings_path).data_sync
    except SettingsError as exc:
        status.notes.append(str(exc).splitlines()[0])


def _read_instance(status: Status, instance: dg.DagsterInstance, now: datetime | None) -> None:
    try:
        schedule = instigators.sync_schedule_state(instance, now)
    except Exception as exc:  # a broken code location must not hide the rest of the status
        status.notes.append(f"the schedule's state is unknown: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    else:
        if schedule is not None:
            status.schedule_running = schedule.running
            status.next_tick = schedule.next_tick

    records = instance.get_run_records(filters=dg.RunsFilter(job_name=SYNC_JOB), limit=1)
    if records and not records[0].dagster_run.is_finished:
        status.sync_running = True
    finished = instance.get_run_records(
        filters=dg.RunsFilter(job_name=SYNC_JOB, statuses=[dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE,
                                                           dg.DagsterRunStatus.CANCELED]),
        limit=1,
    )
    if finished:
        record = finished[0]
        run = record.dagster_run
        rounds = [_materializations(instance, each.run_id) for each in rounds_of(instance, run)]
        staged = [m.metadata["rows_staged"].value for each in rounds for m in each if "rows_staged" in m.metadata]
        status.last_sync = LastSync(
            finished_at=datetime.fromtimestamp(record.end_time, timezone.utc) if record.end_time else None,
            succeeded=run.status == dg.DagsterRunStatus.SUCCESS,
            rows_moved=sum(map(int, staged)) if staged else None,
            state=run.status.value.lower(),
            rounds=len(rounds),
            more_to_read=stopped_reading(rounds[-1]) is not None,
        )


def _materializations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetMaterialization]:
    records = instance.get_records_for_run(run_id=run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return [record.event_log_entry.asset_materialization for record in records
            if record.event_log_entry.asset_materialization]


def _read_warehouse(status: Status, path: Path, timeout_s: float) -> None:
    if not path.exists():
        return
    try:
        conn = _open_read_only(path, timeout_s)
    except _WarehouseBusy:
        status.sync_running = True
        status.notes.append(
            "a sync is running and holds the warehouse: what it alone knows (rejected rows, pending enrolments) "
            "is left out until the sync ends"
        )
        return
    try:
        _read_store(status, conn)
        _read_sync_state(status, conn)
        _read_rejections(status, conn)
        _read_enrolments(status, conn)
    finally:
        conn.close()


def _read_store(status: Status, conn: duckdb.DuckDBPyConnection) -> None:
    if status.store_name or not _table_exists(conn, "bigcommerce", "store"):
        return
    row = conn.execute("SELECT name, secure_url FROM bigcommerce.store LIMIT 1").fetchone()
    if row:
        status.store_name, status.store_url = row


def _read_sync_state(status: Status, conn: duckdb.DuckDBPyConnection) -> None:
    if not _table_exists(conn, "bigcommerce", "sync_state"):
        return
    finished, rows = conn.execute(
        "SELECT max(last_run_finished), sum(rows_last_run) FROM bigcommerce.sync_state"
    ).fetchone()
    if finished is None:
        return
    finished = finished.astimezone(timezone.utc)
    last = status.last_sync
    if last is None:
        status.last_sync = LastSync(finished_at=finished, succeeded=None, rows_moved=int(rows or 0))
    elif last.rows_moved is None:
        last.rows_moved = int(rows or 0)


def _read_rejections(status: Status, conn: duckdb.DuckDBPyConnection) -> None:
    sources = []
    if _table_exists(conn, "dotmailer", "rejected_contacts"):
        sources.append("SELECT reason FROM dotmailer.rejected_contacts")
    if _table_exists(conn, "dotmailer", "load_failures"):
        sources.append("SELECT reason FROM dotmailer.load_failures")
    if not sources:
        return
    reasons = conn.execute(
        f"SELECT coalesce(reason, 'no reason given') AS reason, count(*) FROM ({' UNION ALL '.join(sources)}) "
        "GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    status.rejected_rows = sum(count for _, count in reasons)
    status.rejected_reasons = [(str(reason), int(count)) for reason, count in reasons[:REJECTED_REASONS_SHOWN]]


def _read_enrolments(status: Status, conn: duckdb.DuckDBPyConnection) -> None:
    """Contacts due an enrolment and not yet enrolled, per automation; absent until enrolment has run."""
    if not _table_exists(conn, "dotmailer", "automation_switches"):
        return
    try:
        from bc_pipeline.enrolment.candidates import due_contacts
        from bc_pipeline.enrolment.roles import NEW_CUSTOMERS, NEW_SUBSCRIBERS
    except ImportError:
        return
    pending: dict[str, int] = {}
    try:
        switches = conn.execute(
            "SELECT role, max(switched_on_at) FROM dotmailer.automation_switches GROUP BY role"
        ).fetchall()
        for role, switched_on_at in switches:
            if role not in (NEW_CUSTOMERS, NEW_SUBSCRIBERS):
                continue
            program = conn.execute(
                "SELECT program_id FROM dotmailer.enrolment_calls WHERE role = ? ORDER BY called_at DESC LIMIT 1",
                [role],
            ).fetchone()
            due = due_contacts(conn, role, program[0] if program else -1, switched_on_at)
            pending[role] = len(due.ready) + due.awaiting_contact_id
        if _table_exists(conn, "dotmailer", "abandoned_baskets"):
            baskets = conn.execute(
                "SELECT count(*) FROM dotmailer.abandoned_baskets WHERE status IN ({})".format(
                    ", ".join(f"'{state}'" for state in BASKET_STATES_IN_FLIGHT))
            ).fetchone()[0]
            pending["abandoned_baskets"] = int(baskets)
    except duckdb.Error as exc:
        status.notes.append(f"pending enrolments are unknown: {str(exc).splitlines()[0]}")
        return
    status.enrolments_pending = pending


def _parsed(moment: str) -> datetime | None:
    try:
        return datetime.fromisoformat(moment)
    except ValueError:
        return None


def _when(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if moment else "unknown"


def _rounds(count: int) -> str:
    return f"{count} round{'s' if count > 1 else ''}"


def render_status(status: Status) -> str:
    """The status as lines of plain text."""
    lines: list[tuple[str, str]] = []
    connection = status.connection
    if status.connection == "disconnected":
        connection += f" since {_when(_parsed(status.disconnected_at))}" if status.disconnected_at else ""
        connection += " (run `bc-pipeline connect` to connect again)"
    elif status.connection == "not connected":
        connection += " (run `bc-pipeline connect`)"
    lines.append(("Connection", connection))
    if status.store_name or status.store_url:
        lines.append(("Store", " — ".join(part for part in (status.store_name, status.store_url) if part)))
    if status.dotmailer_account or status.dotmailer_region:
        region = status.dotmailer_region or ""
        region = f" ({region} {REGION_NAMES[region]})" if region in REGION_NAMES else (f" ({region})" if region else "")
        lines.append(("dotmailer", f"{status.dotmailer_account or 'account'}{region}"))

    on = status.data_sync_on and status.connection != "disconnected"
    sync = "unknown" if status.data_sync_on is None else ("on, every 5 minutes" if on else "off")
    if status.connection == "disconnected":
        sync = "off: the connector is disconnected"
    elif status.schedule_running is not None and status.data_sync_setting is not None \
            and status.schedule_running != status.data_sync_setting:
        sync += (f" (the schedule is {'running' if status.schedule_running else 'stopped'}; connector.yaml says "
                 f"data_sync: {str(status.data_sync_setting).lower()})")
    lines.append(("Data sync", sync))

    last = status.last_sync
    if last is None:
        lines.append(("Last sync", "none yet"))
    else:
        outcome = {True: "succeeded", False: f"did not succeed ({last.state})", None: "finished"}[last.succeeded]
        rows = f", {last.rows_moved:,} rows moved" if last.rows_moved is not None else ""
        if last.succeeded and last.more_to_read:
            outcome = f"paused at the store's API quota after {_rounds(last.rounds)}"
            rows += " so far; the next round reads the rest"
        elif last.rounds > 1:
            outcome += f" in {_rounds(last.rounds)}"
        lines.append(("Last sync", f"{_when(last.finished_at)}, {outcome}{rows}"))
    if status.sync_running:
        lines.append(("Now", "a sync is running"))
    if on:
        lines.append(("Next sync", _when(status.next_tick) if status.next_tick else "within 5 minutes"))

    if status.enrolments_pending is not None:
        pending = ", ".join(f"{role.replace('_', ' ')}: {count}" for role, count in status.enrolments_pending.items())
        lines.append(("Enrolments pending", pending or "none"))
    if status.rejected_rows is not None:
        rejected = f"{status.rejected_rows:,}"
        if status.rejected_reasons:
            rejected += " (" + "; ".join(f"{reason}: {count}" for reason, count in status.rejected_reasons) + ")"
        lines.append(("Rejected rows", rejected))

    width = max(len(label) for label, _ in lines) + 2
    text = [f"{label + ':':<{width}}{value}" for label, value in lines]
    text += [f"Note: {note}" for note in status.notes]
    return "\n".join(text)
