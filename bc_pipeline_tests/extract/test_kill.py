"""A real extraction process killed with SIGKILL mid-stream; the rerun loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bc_pipeline.bigcommerce.extract import SAFETY_LAG
from bc_pipeline.warehouse import open_warehouse, run_sql
from bc_pipeline_tests.extract.conftest import INCREMENTAL_STREAMS, TOKEN, assert_matches_store

REPO_ROOT = Path(__file__).resolve().parents[2]

EXTRACT_ALL = """
import sys
from bc_pipeline.bigcommerce.client import BigCommerceClient
from bc_pipeline.bigcommerce.extract import extract_stream
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline.warehouse import open_warehouse

warehouse_path, api_url = sys.argv[1], sys.argv[2]
conn = open_warehouse(warehouse_path)
with BigCommerceClient(api_url, sys.argv[3]) as client:
    for name in sys.argv[4:]:
        extract_stream(client, conn, STREAMS[name])
conn.close()
print("done", flush=True)
"""


def _extract_in_process(warehouse_path: Path, api_url: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", EXTRACT_ALL, str(warehouse_path), api_url, TOKEN, *INCREMENTAL_STREAMS],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _kill_after_requests(process: subprocess.Popen, sandbox, requests: int, timeout_s: float = 60.0) -> bool:
    """SIGKILL the process once the store has answered `requests` requests; False if it finished first."""
    deadline = time.monotonic() + timeout_s
    while sandbox.stats()["total_requests"] < requests:
        if process.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the extraction made no progress"
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return True


@pytest.mark.parametrize("kill_after", [5, 7, 12])
def test_a_killed_extraction_is_completed_by_the_next_run(bc_store, tmp_path, kill_after):
    # Latency stretches each request, so the kill lands at varied points: mid-request, mid-commit, between pages.
    # Customers take five requests, and their first four pages are committed together before the fifth is sent.
    store = bc_store(latency_ms=40, customers=1100, subscribers=320, orders=600, products=260)
    warehouse_path = tmp_path / "warehouse.duckdb"
    api_url = store.api_url
    store.settle()

    first = _extract_in_process(warehouse_path, api_url)
    killed = _kill_after_requests(first, store.sandbox, kill_after)
    assert killed, f"the extraction ended before it could be killed: {first.communicate()[1].decode()}"

    conn = open_warehouse(warehouse_path)
    staged_before_kill = run_sql(conn, "SELECT count(*) FROM bigcommerce.customers")
    conn.close()
    assert staged_before_kill[0][0] > 0, "the kill should land mid-stream, after some pages were committed"

    store.sandbox.activity(60)
    store.settle()
    rerun_started = store.sandbox.clock.now()
    rerun = _extract_in_process(warehouse_path, api_url)
    stdout, stderr = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, stderr.decode()

    conn = open_warehouse(warehouse_path)
    try:
        assert_matches_store(store, conn)
        for table, key in (("order_line_items", "order_id, id"), ("customer_addresses", "customer_id, id")):
            duplicates = run_sql(conn, f"SELECT count(*) FROM (SELECT {key} FROM bigcommerce.{table} GROUP BY ALL HAVING count(*) > 1)")
            assert duplicates == [(0,)]
        pending = run_sql(conn, "SELECT count(*) FROM bigcommerce.sync_state WHERE window_start IS NOT NULL")
        assert pending == [(0,)]
        # Every stream's watermark reached the rerun's window end: the store's time less the safety lag and
        # the (whole) seconds its first answer took.
        watermarks = run_sql(conn, "SELECT stream, watermark FROM bigcommerce.sync_state WHERE watermark IS NOT NULL")
        assert {stream for stream, _ in watermarks} == set(INCREMENTAL_STREAMS)
        assert all(watermark >= rerun_started - SAFETY_LAG - timedelta(seconds=2) for _, watermark in watermarks)
    finally:
        conn.close()
