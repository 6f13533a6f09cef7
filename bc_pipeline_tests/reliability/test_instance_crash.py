"""The whole Dagster instance (webserver, daemon, code server and the sync's run worker) killed with
SIGKILL while a sync is mid-stream, then started again on the same DAGSTER_HOME: the dead run is marked failed
rather than left STARTED (which would make the schedule skip every tick), its DuckDB pool slot is given back, the
next sync through the instance succeeds, and the store, DuckDB and dotmailer agree with nothing lost and nothing
twice."""

from __future__ import annotations

import threading
from collections import Counter

import duckdb
import pytest

from bc_pipeline.automation import IN_FLIGHT
from bc_pipeline.paths import pipeline_home
from bc_pipeline.sandbox.server import serve_in_thread
from bc_pipeline_tests.reliability.harness import STREAMS, check_in_step, settle
from bc_pipeline_tests.reliability.instance import (
    RUN_WAIT_S,
    TEST_POLL_INTERVAL_S,
    crash_recovery_instance_settings,
    dagster_instance,
    start_slow_pipeline,
)
from bc_pipeline_tests.ui.conftest import wait_until

pytestmark = pytest.mark.slow

# On the slow store every stream needs three rounds of requests or more, so none has finished when the first
# stream's first two pages are committed, and the kill lands while every stream waits for its third page or later.
# The arrival that shows a stream's first two pages committed (they are staged together). Customers and subscribers
# are read one page after another: their third request. Orders and products are read from both ends at once: their
# second and third requests go out together, and the fourth as soon as one of those is answered, so their fifth.
COMMITTED_AT = {"/v3/customers": 3, "/v3/customers/subscribers": 3, "/v2/orders": 5, "/v3/catalog/products": 5}
# While a sync is in one of these, the schedule skips its tick.
IN_FLIGHT_STATUSES = {status.value for status in IN_FLIGHT}
MONITORING_WAIT_S = 10 * TEST_POLL_INTERVAL_S + 30


class RequestArrivals:
    """BigCommerce as the pipeline sees it, counting each stream's requests as they arrive. The sandbox's own
    stats count a request once answered; an arrival is what shows that the pages before it were committed."""

    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self._arrived: Counter = Counter()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            stream = next((p for p in COMMITTED_AT if scope["path"].endswith(p)), None)
            with self._lock:
                self._arrived[stream] += 1
        return await self.app(scope, receive, send)

    def pages_committed(self) -> bool:
        with self._lock:
            return any(self._arrived[path] >= count for path, count in COMMITTED_AT.items())


def _extract_progress() -> tuple[int, int]:
    """(streams with a half-scanned window saved, streams whose scan finished): read once nothing writes DuckDB."""
    with duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(
            "SELECT count(*) FILTER (WHERE window_start IS NOT NULL), "
            "count(*) FILTER (WHERE watermark IS NOT NULL AND window_start IS NULL) "
            f"FROM bigcommerce.sync_state WHERE stream IN {STREAMS}").fetchone()


def test_a_killed_instance_fails_its_dead_run_and_the_next_sync_converges(start_pipeline, tmp_path):
    pipeline = start_slow_pipeline(start_pipeline)
    arrivals = RequestArrivals(pipeline.bigcommerce.app)
    counted_bigcommerce = serve_in_thread(arrivals)
    env = {**pipeline.env(), "BC_API_BASE_URL": counted_bigcommerce.url}

    try:
        with dagster_instance(tmp_path, env, crash_recovery_instance_settings()) as instance:
            instance.start()
            killed_run = instance.launch_sync()
            wait_until(arrivals.pages_committed, timeout=RUN_WAIT_S, what="a stream's first pages committed",
                       process=instance.process, log=instance.log, interval=0.05)
            worker = instance.run_worker_pid(killed_run)
            assert worker in instance.group_members(), "the run worker should be one of the instance's processes"
            instance.kill()

            half_scanned, finished = _extract_progress()
            assert half_scanned >= 1 and finished == 0, "the kill should land mid-stream"
            # The store keeps changing while the instance is down.
            pipeline.bigcommerce.activity(20)
            settle(pipeline.pair)

            instance.start()
            assert instance.wait_for_run_end(killed_run, timeout=MONITORING_WAIT_S) == "FAILURE"
            assert [run for run in instance.sync_runs() if run["status"] in IN_FLIGHT_STATUSES] == [], \
                "a sync left in flight makes the schedule skip every tick"
            recovery_run = instance.launch_sync()
            assert instance.wait_for_run_end(recovery_run, timeout=RUN_WAIT_S) == "SUCCESS"
    finally:
        counted_bigcommerce.stop()

    problems = check_in_step(pipeline.pair, suppressed=set())
    assert problems.all() == [], "\n".join(problems.all()[:40])
