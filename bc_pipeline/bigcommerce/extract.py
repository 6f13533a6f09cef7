"""The one extractor: any StreamSpec, one fixed date window at a time, pages straight into DuckDB.

A run's window is [watermark, the store's time in the answer to its first request - safety lag]. Pages are upserted
(two at a time where they fit, see PAGES_PER_COMMIT) and the scan's resume token after them saved in one DuckDB
transaction; the transaction of the window's last page also moves the watermark to the window's end. A process
killed at any moment therefore leaves either the previous state or a half-scanned window with its exact resume
point, and the next run finishes that window before opening a new one: no gap, and upserts by primary key make
re-reads harmless.

A sync stops the same way, on purpose, when the store's quota would make it wait long (`stop_at_quota_wait_s`):
what it staged can be transformed and loaded while the quota refills, and a run with `finish_stopped` then scans
the window each stream stopped in, and no other.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import duckdb

from bc_pipeline import warehouse
from bc_pipeline.bigcommerce.client import BigCommerceClient
from bc_pipeline.bigcommerce.pacing import QuotaWait
from bc_pipeline.bigcommerce.paging import Page, ScanWindow, pages, single_object_page
from bc_pipeline.bigcommerce.staging_gate import StagingGate
from bc_pipeline.bigcommerce.streams import StreamSpec

# Before any BigCommerce store existed: a window from here is the whole history.
HISTORY_START = datetime(2000, 1, 1, tzinfo=timezone.utc)

# Rows the store stamps with a time just before our run starts may still be committing; the next
# run's window starts at this run's end, so they are read then.
SAFETY_LAG = timedelta(seconds=5)

# Each staging statement costs DuckDB a fixed time to plan and set up, about a quarter of the staging of a page of
# orders, so two pages that arrive one after another are staged together (in one statement if DuckDB can parse
# them at once).
# Extracting the benchmark's default store took 13% less CPU and 5% less time, for a peak about 30 MiB higher
# (DuckDB parses both pages at once). Four pages saved little more CPU but took longer, since no request is sent
# while a batch is staged, and peaked 50 MiB higher.
PAGES_PER_COMMIT = 2


@dataclass(frozen=True)
class StreamResult:
    stream: str
    rows_staged: int
    requests: int
    rate_limited: int
    watermark: datetime | None
    windows: tuple[tuple[datetime, datetime], ...]
    # Stopped at a long wait for the quota, its window not finished: a run with `finish_stopped` finishes it, once
    # the quota refills.
    more_to_read: bool = False
    quota_refills_at: datetime | None = None


@dataclass
class _Tally:
    rows: int = 0
    requests: int = 0
    rate_limited: int = 0

    def count(self, batch: list[Page], rows: int) -> None:
        self.rows += rows
        self.requests += sum(page.attempts for page in batch)
        self.rate_limited += sum(page.rate_limited for page in batch)


def _whole_seconds(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def backfill_state_key(spec: StreamSpec) -> str:
    return f"{spec.name}:backfill"


def extract_stream(
    client: BigCommerceClient,
    conn: duckdb.DuckDBPyConnection,
    spec: StreamSpec,
    *,
    full: bool = False,
    window: tuple[datetime, datetime] | None = None,
    safety_lag: timedelta = SAFETY_LAG,
    finish_stopped: bool = False,
    gate: StagingGate | None = None,
) -> StreamResult:
    """Stage every row of `spec` modified since its watermark (or in `window`, for a backfill).

    The store's clock in the answer to the run's first request ends its window. `full` re-reads the whole
    history; `window` (UTC bounds, e.g. a range of daily partitions) is scanned without moving the stream's
    watermark, with its own resumable progress. `finish_stopped` scans one window only: the one a stopped run left
    half-scanned, or for a stream stopped before its first page, its window from the watermark. When the client's
    pacer stops at a long wait for the quota, the result says there is `more_to_read`. Streams extracted together
    share one `gate`, made from the connection their cursors come from (`conn` itself when none is given).
    """
    gate = gate or StagingGate(conn)
    with conn.cursor() as cur:
        return _extract(client, cur, spec, full=full, window=window, safety_lag=safety_lag,
                        finish_stopped=finish_stopped, gate=gate)


def _extract(
    client: BigCommerceClient,
    cur: duckdb.DuckDBPyConnection,
    spec: StreamSpec,
    *,
    full: bool,
    window: tuple[datetime, datetime] | None,
    safety_lag: timedelta,
    finish_stopped: bool,
    gate: StagingGate,
) -> StreamResult:
    tally = _Tally()
    key = backfill_state_key(spec) if window else spec.name
    with gate.in_use():
        # Read once per run, not for every page: the limit decides whether a page is staged in slices.
        memory_limit = warehouse.duckdb_memory_limit(cur)
        warehouse.mark_run_started(cur, key, datetime.now(timezone.utc))
        state = warehouse.read_sync_state(cur, key)
        gate.staged_ids.track(cur, spec.table)
    if not spec.incremental:
        _commit_pages(cur, spec, key, [single_object_page(client, spec)], tally, advance_to=None,
                      memory_limit=memory_limit, gate=gate)
        return _finish(cur, gate, spec, key, tally, None, ())

    watermark = state.watermark
    scanned = []
    try:
        windows = _windows_to_scan(state, safety_lag, full=full, backfill=window, finish_stopped=finish_stopped)
        for scan, resume in windows:
            for batch in _batches(pages(client, spec, scan, resume)):
                end = batch[-1].window.end
                advance_to = None if window else max(end, watermark or end)
                _commit_pages(cur, spec, key, batch, tally, advance_to=advance_to, memory_limit=memory_limit,
                              gate=gate)
            watermark = advance_to or watermark
            scanned.append((scan.start, end))
    except QuotaWait as stop:
        # The pages before the wait are committed with the scan's resume point.
        refills_at = datetime.now(timezone.utc) + timedelta(seconds=stop.wait_s)
        return _finish(cur, gate, spec, key, tally, watermark, tuple(scanned), stopped_until=refills_at)
    return _finish(cur, gate, spec, key, tally, watermark, tuple(scanned))


def _batches(scan: Iterator[Page]) -> Iterator[list[Page]]:
    """The scan's pages in runs of PAGES_PER_COMMIT, the last run ended by the window's last page. Whether a run's
    pages fit one statement is `warehouse.stage_pages`'s to decide.

    No page received waits on a request that fails: the pages before it come out first, then the error."""
    batch: list[Page] = []
    try:
        for page in scan:
            batch.append(page)
            if page.last or len(batch) == PAGES_PER_COMMIT:
                yield batch
                batch = []
    except Exception:
        if batch:
            yield batch
        raise


def _windows_to_scan(
    state: warehouse.SyncState,
    safety_lag: timedelta,
    *,
    full: bool,
    backfill: tuple[datetime, datetime] | None,
    finish_stopped: bool = False,
) -> list[tuple[ScanWindow, str | None]]:
    """Each window this run scans, in order, with its resume token.

    A window a killed or stopped run left half-scanned is finished first, from its resume token; then (unless
    `finish_stopped` and there was one) the window from the watermark to the store's time in the first answer. A
    window reaching into the last seconds could still gain rows while it is scanned, so a backfill's range is cut
    there too."""
    pending = (state.window_start, state.window_end) if state.window_start is not None else None
    if backfill:
        start, cap = _whole_seconds(backfill[0]), _whole_seconds(backfill[1])
        if pending and pending[0] == start and pending[1] <= cap:
            return [(ScanWindow(*pending), state.resume_after)]
        return [(ScanWindow(start, cap=cap, lag=safety_lag), None)]
    if full:
        return [(ScanWindow(HISTORY_START, lag=safety_lag), None)]
    windows = [(ScanWindow(*pending), state.resume_after)] if pending else []
    start = max(moment for moment in (state.watermark, pending and pending[1], HISTORY_START) if moment)
    windows.append((ScanWindow(start, lag=safety_lag), None))
    # A window opened after a stopped one's would cost a request each round for rows the next sync reads anyway.
    return windows[:1] if finish_stopped else windows


def _commit_pages(
    cur: duckdb.DuckDBPyConnection,
    spec: StreamSpec,
    key: str,
    batch: list[Page],
    tally: _Tally,
    *,
    advance_to: datetime | None,
    memory_limit: str,
    gate: StagingGate,
) -> None:
    """Stage consecutive pages and record the scan's progress after the last of them atomically; the window's last
    page also moves the watermark. When they fail together, each page is committed on its own, so the pages
    before the one that cannot be staged are kept and the error is that page's. Pages staged as new records (see
    `staged_ids`) that fail are staged again as any others."""
    bodies = [page.content for page in batch if page.content]
    ids = [i for page in batch for i in page.ids]
    new_records = gate.staged_ids.all_new(spec.table, ids)
    last = batch[-1]
    try:
        with gate.in_use(), warehouse.transaction(cur):
            rows = warehouse.stage_pages(cur, spec.table, spec.child_tables, bodies, spec.records_path,
                                         memory_limit=memory_limit, new_records=new_records) if bodies else 0
            if last.last:
                warehouse.save_progress(cur, key, window_start=None, window_end=None, resume_after=None,
                                        watermark=advance_to)
            else:
                warehouse.save_progress(cur, key, window_start=last.window.start, window_end=last.window.end,
                                        resume_after=last.resume)
    except Exception:
        if new_records:
            # Taken for new, a record another stream thread staged meanwhile breaks the key; with the join, the
            # same pages replace it.
            gate.staged_ids.forget(spec.table)
            _commit_pages(cur, spec, key, batch, tally, advance_to=advance_to, memory_limit=memory_limit, gate=gate)
            return
        if len(batch) == 1:
            raise
        for page in batch:
            _commit_pages(cur, spec, key, [page], tally, advance_to=advance_to, memory_limit=memory_limit,
                          gate=gate)
        return
    gate.staged_ids.add(spec.table, ids)
    tally.count(batch, rows)
    gate.staged(rows)


def _finish(
    cur: duckdb.DuckDBPyConnection,
    gate: StagingGate,
    spec: StreamSpec,
    key: str,
    tally: _Tally,
    watermark: datetime | None,
    windows: tuple[tuple[datetime, datetime], ...],
    *,
    stopped_until: datetime | None = None,
) -> StreamResult:
    with gate.in_use():
        warehouse.mark_run_finished(cur, key, datetime.now(timezone.utc), rows=tally.rows, requests=tally.requests,
                                    rate_limited=tally.rate_limited)
    return StreamResult(spec.name, tally.rows, tally.requests, tally.rate_limited, watermark, windows,
                        more_to_read=stopped_until is not None, quota_refills_at=stopped_until)


def extract_streams(
    client: BigCommerceClient,
    conn: duckdb.DuckDBPyConnection,
    specs: Iterable[StreamSpec],
    *,
    full: bool = False,
    window: tuple[datetime, datetime] | None = None,
    max_workers: int = 4,
    stop_at_quota_wait_s: float | None = None,
    finish_stopped: bool = False,
    quota_refills_at: datetime | None = None,
    gate: StagingGate | None = None,
) -> Mapping[str, StreamResult]:
    """Extract independent streams concurrently, one thread and one DuckDB cursor each, all paced by
    the client's one pacer. Every stream runs to its end, or with `stop_at_quota_wait_s` until the quota would
    make it wait that long; failures are raised together afterwards (the streams that succeeded keep their
    committed progress). `window` is a backfill's range and `finish_stopped` as in `extract_stream`. No request
    goes out before `quota_refills_at`, which a stopped run's results give: a first request into the window it
    spent would be refused with 429. The streams share `gate` (by default one on `conn`)."""
    specs = list(specs)
    # Cursors are made here: a connection must not be shared by threads, even to make cursors.
    cursors = [conn.cursor() for _ in specs]
    gate = gate or StagingGate(conn)
    if quota_refills_at is not None:
        client.pacer.hold((quota_refills_at - datetime.now(timezone.utc)).total_seconds())
    client.pacer.stop_at_wait_s = stop_at_quota_wait_s
    try:
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="bc-extract") as pool:
            futures = {
                spec.name: pool.submit(extract_stream, client, cursor, spec, full=full, window=window,
                                       finish_stopped=finish_stopped, gate=gate)
                for spec, cursor in zip(specs, cursors)
            }
    finally:
        client.pacer.stop_at_wait_s = None
        for cursor in cursors:
            cursor.close()
    results, errors = {}, []
    for name, future in futures.items():
        error = future.exception()
        if error is None:
            results[name] = future.result()
        else:
            error.add_note(f"while extracting stream {name!r}")
            errors.append(error)
    if errors:
        # Dagster shows a group's own message only, so it carries each stream's reason.
        reasons = "; ".join(f"{name}: {future.exception()}" for name, future in futures.items() if future.exception())
        raise ExceptionGroup(f"{len(errors)} of {len(specs)} BigCommerce streams failed ({reasons})", errors)
    return results
