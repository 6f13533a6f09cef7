"""An extraction that stops at a long wait for the quota, and the runs that finish it: nothing lost, nothing read
twice, no window opened after the one a stream stopped in."""

from __future__ import annotations

import time

from bc_pipeline.bigcommerce.client import BigCommerceClient
from bc_pipeline.bigcommerce.extract import extract_stream, extract_streams
from bc_pipeline.bigcommerce.pacing import QuotaWait
from bc_pipeline.bigcommerce.streams import STREAMS, Paging
from bc_pipeline.warehouse import read_sync_state
from bc_pipeline_tests.extract.conftest import INCREMENTAL_STREAMS, TOKEN, assert_matches_store

MULTI_PAGE_STORE = {"customers": 300, "subscribers": 320, "orders": 600, "products": 260}

# Windows of 1.5 s with a quota of 4: a run spends a window's quota in a moment, then would wait over a second.
QUOTA = {"quota": 4, "window_ms": 1500}
STOP_AT_S = 0.5


def _requests(store) -> int:
    return store.sandbox.stats()["total_requests"]


def test_stopped_streams_are_finished_by_later_runs_with_every_page_read_once(bc_store, warehouse):
    unpaced = bc_store(**MULTI_PAGE_STORE)
    unpaced.settle()
    extract_streams(unpaced.client(), warehouse.cursor(), [STREAMS[name] for name in INCREMENTAL_STREAMS])
    requests_in_one_run = _requests(unpaced)
    store = bc_store(**QUOTA, **MULTI_PAGE_STORE)
    store.settle()
    conn = warehouse.cursor()
    conn.execute("DELETE FROM bigcommerce.sync_state")

    first = extract_streams(store.client(), conn, [STREAMS[name] for name in INCREMENTAL_STREAMS],
                            stop_at_quota_wait_s=STOP_AT_S)

    left = [name for name, result in first.items() if result.more_to_read]
    assert left, "the first run read everything: the quota did not stop it"
    assert _requests(store) < requests_in_one_run
    # Stopped mid-window or before its first page, a stream's watermark has not moved.
    assert all(read_sync_state(conn, name).watermark is None for name in left)
    refills_at = max(result.quota_refills_at for result in first.values() if result.more_to_read)
    resumed = {name: 0 for name in INCREMENTAL_STREAMS}
    while left:
        # Each round is a run of its own, with its own client, as the sync's rounds are.
        results = extract_streams(store.client(), conn, [STREAMS[name] for name in left],
                                  stop_at_quota_wait_s=STOP_AT_S, finish_stopped=True, quota_refills_at=refills_at)
        assert sum(result.requests for result in results.values()), "a round made no progress"
        for name in left:
            resumed[name] += 1
        left = [name for name, result in results.items() if result.more_to_read]
        refills_at = max((result.quota_refills_at for result in results.values() if result.more_to_read), default=None)
        assert sum(resumed.values()) < 40
    # Told when the quota refills, no round starts with a request the store refuses.
    assert "429" not in store.sandbox.stats()["status_counts"]
    made, once = store.sandbox.stats()["requests"], unpaced.sandbox.stats()["requests"]
    for name in INCREMENTAL_STREAMS:
        route = f"GET {STREAMS[name].path}"
        # Resumed from its exact resume point, a stream reads no page twice. A scan from both ends resumes with a
        # request in each direction, and one may find the other has left it nothing, as the last requests of an
        # unstopped scan can.
        extra = resumed[name] if STREAMS[name].paging == Paging.TWO_ENDED_ID else 0
        assert made[route] <= once[route] + extra, name
    assert all(read_sync_state(conn, name).window_start is None for name in INCREMENTAL_STREAMS)
    assert_matches_store(store, warehouse)


def test_a_stream_stopped_before_its_first_page_is_read_whole_by_the_finishing_run(bc_store, warehouse):
    store = bc_store(quota=2, window_ms=1500, **MULTI_PAGE_STORE)
    store.settle()
    client = store.client()
    client.pacer.stop_at_wait_s = STOP_AT_S
    extract_stream(client, warehouse, STREAMS["products"])  # two pages: the window's quota

    stopped = extract_stream(client, warehouse, STREAMS["customers"])

    assert stopped.more_to_read and stopped.requests == 0
    assert read_sync_state(warehouse, "customers").window_start is None

    finished = extract_stream(store.client(), warehouse, STREAMS["customers"], finish_stopped=True)

    assert not finished.more_to_read
    assert read_sync_state(warehouse, "customers").watermark is not None
    assert_matches_store(store, warehouse, streams=("customers", "products"))


class StoppingDescending(BigCommerceClient):
    """Descending requests stop at a long wait for the quota, late: after the ascending page that ends the scan."""

    def get(self, path, params=None, **kwargs):
        if params and dict(STREAMS["products"].descending_params).items() <= dict(params).items():
            time.sleep(0.3)
            raise QuotaWait(20.0)
        return super().get(path, params, **kwargs)


def test_a_scan_ended_before_a_request_stopped_is_finished(bc_store, warehouse):
    # 260 products: the first page, then an ascending page that ends the scan while the descending request waits.
    store = bc_store(products=260)
    store.settle()

    with StoppingDescending(store.api_url, TOKEN) as client:
        result = extract_stream(client, warehouse, STREAMS["products"])

    assert not result.more_to_read
    state = read_sync_state(warehouse, "products")
    assert state.watermark is not None and state.window_start is None
    assert_matches_store(store, warehouse, streams=("products",))
