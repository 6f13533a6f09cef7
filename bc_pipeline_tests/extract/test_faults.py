"""No row skipped and nothing lost while the store changes mid-scan and the API misbehaves."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from bc_pipeline.bigcommerce.client import BigCommerceClient, RetriesExhausted
from bc_pipeline.bigcommerce.extract import extract_stream, extract_streams
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline_tests.extract.conftest import INCREMENTAL_STREAMS, TOKEN, assert_matches_store, staged, sync

# Every stream spans more than one page, so faults can strike between pages.
MULTI_PAGE_STORE = {"customers": 300, "subscribers": 320, "orders": 600, "products": 260}


def test_rows_modified_mid_scan_are_never_skipped(bc_store, warehouse):
    store = bc_store(**MULTI_PAGE_STORE)
    client = store.client()
    before = {stream: store.expected(stream) for stream in INCREMENTAL_STREAMS}
    store.sandbox.set_fault("mutate_during_scan", rate=1.0)

    sync(store, client, warehouse)

    assert store.sandbox.stats()["faults_served"]["mutate_during_scan"] >= 2 * len(INCREMENTAL_STREAMS)
    for stream in INCREMENTAL_STREAMS:
        missing = set(before[stream]) - set(staged(warehouse, stream))
        assert not missing, f"{stream}: skipped {sorted(missing)[:10]}"
    # The rows touched during the scan left the window; the next run reads their new versions.
    store.sandbox.clear_faults()
    sync(store, client, warehouse)
    assert_matches_store(store, warehouse)


@pytest.mark.parametrize(
    "faults",
    [
        {"http_500": (0.1, None), "http_502": (0.1, None), "http_503": (0.1, None), "http_504": (0.1, None)},
        {"reset": (0.25, None), "malformed_json": (0.25, None)},
        {"rate_limit_no_headers": (0.4, None)},
        {"wrong_totals": (0.5, None)},
        {"hang": (1.0, 2)},
    ],
    ids=["5xx-bursts", "resets-and-malformed-pages", "429-without-headers", "wrong-totals", "hangs"],
)
def test_faults_lose_nothing(bc_store, warehouse, faults):
    store = bc_store(**MULTI_PAGE_STORE)
    client = store.client(max_attempts=8)
    for fault, (rate, count) in faults.items():
        store.sandbox.set_fault(fault, rate=rate, count=count)
    store.sandbox.set_fault("mutate_during_scan", rate=0.5)

    sync(store, client, warehouse)
    store.sandbox.clear_faults()
    sync(store, client, warehouse)

    served = store.sandbox.stats()["faults_served"]
    assert all(served.get(fault, 0) >= 1 for fault in faults), served
    assert_matches_store(store, warehouse)


def test_429_storm_from_another_app_on_the_same_quota(bc_store, warehouse):
    """Another app spends the store's shared quota: our requests get 429 with headers, wait, and finish."""
    store = bc_store(quota=12, window_ms=400, **MULTI_PAGE_STORE)
    client = store.client(max_rate_limited=200)
    stop, spent = threading.Event(), threading.Event()

    def other_app() -> None:
        # Unpaced, as a misbehaving app on the same store would send: until the window is spent, then a second more.
        deadline = None
        with requests.Session() as session:
            while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
                answer = session.get(f"{store.api_url}/v2/store", headers={"X-Auth-Token": TOKEN}, timeout=5)
                if answer.status_code == 429 and deadline is None:
                    deadline = time.monotonic() + 1.0
                    spent.set()

    noisy = threading.Thread(target=other_app, daemon=True)
    noisy.start()
    # Our first request then meets a spent window, however slowly a busy machine runs the other app.
    assert spent.wait(timeout=30)
    try:
        results = extract_streams(client, warehouse, [STREAMS[name] for name in INCREMENTAL_STREAMS])
    finally:
        stop.set()
        noisy.join()

    assert sum(result.rate_limited for result in results.values()) >= 1
    assert_matches_store(store, warehouse)


def test_a_small_quota_is_paced_without_a_single_429(bc_store, warehouse):
    # Answers of one window are told from the next one's by when each says its window ends, which a busy machine
    # blurs by the time an answer waits to be read: at 300 ms windows, a late answer could pass for the next window's.
    store = bc_store(quota=3, window_ms=1000, **MULTI_PAGE_STORE)
    client = store.client()

    store.settle()
    results = extract_streams(client, warehouse, STREAMS.values())

    stats = store.sandbox.stats()
    assert stats["total_requests"] > 2 * 3  # the sync needed more than two windows
    assert "429" not in stats["status_counts"]
    assert sum(result.rate_limited for result in results.values()) == 0
    assert_matches_store(store, warehouse)


class FailingAfterFirstPage(BigCommerceClient):
    """The store starts answering 503 for good once the first page has been served."""

    def __init__(self, *args, sandbox, **kwargs):
        super().__init__(*args, **kwargs)
        self._sandbox = sandbox

    def get(self, path, params=None, **kwargs):
        response = super().get(path, params, **kwargs)
        self._sandbox.set_fault("http_503", rate=1.0)
        return response


def test_the_watermark_does_not_move_when_a_page_fails(bc_store, warehouse):
    store = bc_store(**MULTI_PAGE_STORE)
    client = FailingAfterFirstPage(store.api_url, TOKEN, sandbox=store.sandbox, max_attempts=3,
                                   backoff_base_s=0.01, backoff_cap_s=0.02)
    store.clients.append(client)
    store.settle()

    with pytest.raises(RetriesExhausted) as failure:
        extract_stream(client, warehouse, STREAMS["orders"])

    message = str(failure.value)
    assert "GET /v2/orders" in message and "HTTP 503" in message and "Nothing was lost" in message
    assert TOKEN not in message
    state = warehouse.execute(
        "SELECT watermark, window_start, resume_after FROM bigcommerce.sync_state WHERE stream = 'orders'"
    ).fetchall()
    watermark, window_start, resume_after = state[0]
    assert watermark is None and window_start is not None and resume_after is not None
    assert len(staged(warehouse, "orders")) == 250  # the first page, committed with its resume point

    store.sandbox.clear_faults()
    before = store.sandbox.stats()["total_requests"]
    result = extract_stream(store.client(), warehouse, STREAMS["orders"])

    assert_matches_store(store, warehouse, streams=("orders",))
    assert result.watermark is not None
    # The rerun continued after the committed page instead of starting over.
    assert store.sandbox.stats()["total_requests"] - before <= 4
