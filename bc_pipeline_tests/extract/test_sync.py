"""Full and incremental syncs against a sandbox store: exact contents, request budget, no 429."""

from __future__ import annotations

import dataclasses
import math
import sys
import threading
import tracemalloc
from datetime import datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest

from bc_pipeline.bigcommerce.client import BigCommerceClient
from bc_pipeline.bigcommerce.extract import SAFETY_LAG, extract_stream, extract_streams
from bc_pipeline.bigcommerce.paging import ScanWindow, list_request, pages
from bc_pipeline.bigcommerce.staging_gate import StagingGate
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline_tests.extract.conftest import (
    INCREMENTAL_STREAMS,
    TOKEN,
    api_requests,
    assert_matches_store,
    minimum_requests,
    staged,
    sync,
)


@pytest.mark.parametrize(
    "sizes",
    [
        {},  # the default store
        {"customers": 520, "subscribers": 600, "orders": 1100, "products": 251},
    ],
    ids=["default-store", "multi-page-store"],
)
def test_full_sync_matches_the_store_within_the_minimum_requests_and_without_429(bc_store, warehouse, sizes):
    store = bc_store(**sizes)
    client = store.client()

    store.settle()
    results = extract_streams(client, warehouse, STREAMS.values())

    assert_matches_store(store, warehouse)
    stats = store.sandbox.stats()
    assert "429" not in stats["status_counts"]
    assert sum(result.rate_limited for result in results.values()) == 0
    # The minimum is one request per 250 rows; allow one more per stream (a page that only confirms the end).
    assert stats["total_requests"] <= minimum_requests(store) + len(INCREMENTAL_STREAMS) + 1
    assert api_requests(store)["GET /v2/store"] == 1
    assert sum(result.requests for result in results.values()) == stats["total_requests"]


def test_streams_staged_together_while_the_warehouse_is_reattached_again_and_again_match_the_store(bc_store,
                                                                                                   warehouse):
    store = bc_store(customers=520, subscribers=600, orders=1100, products=251)
    client = store.client()
    gate = StagingGate(warehouse, every_records=300)

    store.settle()
    results = extract_streams(client, warehouse, STREAMS.values(), gate=gate)

    assert_matches_store(store, warehouse)
    # 2,472 records, counted as each batch of up to two pages commits.
    assert gate.reattached >= 3
    watermarks = dict(warehouse.execute("SELECT stream, watermark FROM bigcommerce.sync_state").fetchall())
    assert all(watermarks[name] == result.watermark for name, result in results.items())


def test_store_information_is_staged(bc_store, warehouse):
    store = bc_store()
    sync(store, store.client(), warehouse, streams=("store",))

    rows = warehouse.execute("SELECT id, name, secure_url, currency, timezone FROM bigcommerce.store").fetchall()
    assert rows == [("sandbox", "Sandbox Store", "https://sandbox.example", "USD", "Etc/UTC")]


def test_a_sync_without_changes_makes_one_request_per_stream(bc_store, warehouse):
    store = bc_store()
    client = store.client()
    sync(store, client, warehouse)
    before = store.sandbox.stats()["total_requests"]

    results = sync(store, client, warehouse)

    assert store.sandbox.stats()["total_requests"] - before == len(INCREMENTAL_STREAMS)
    assert all(result.requests == 1 for result in results.values())


def test_incremental_sync_picks_up_every_change(bc_store, warehouse):
    store = bc_store(customers=300, subscribers=300, orders=700, products=80)
    client = store.client()
    first = sync(store, client, warehouse)

    store.sandbox.activity(400)
    second = sync(store, client, warehouse)

    assert_matches_store(store, warehouse)
    for name in INCREMENTAL_STREAMS:
        assert second[name].watermark > first[name].watermark
        # Only the window since the last watermark travels, not the history.
        assert second[name].rows_staged < len(store.expected(name))


def test_windows_end_at_the_store_clock_without_asking_for_it(bc_store, warehouse):
    store = bc_store()
    client = store.client()
    extract_streams(client, warehouse, [STREAMS[name] for name in INCREMENTAL_STREAMS])
    store.sandbox.clock.advance(120)  # the store's clock runs ahead of ours
    store.sandbox.activity(30)
    before = store.sandbox.stats()["requests"]

    results = extract_streams(client, warehouse, [STREAMS[name] for name in INCREMENTAL_STREAMS])

    after = store.sandbox.stats()["requests"]
    # The clock comes from each stream's first answer (its Date header), not from GET /v2/time.
    assert "GET /v2/time" not in after
    assert sum(after.values()) - sum(before.values()) == sum(result.requests for result in results.values())
    assert all(result.watermark > datetime.now(timezone.utc) + timedelta(seconds=60) for result in results.values())
    store.sandbox.clock.advance(SAFETY_LAG.total_seconds() + 1)
    extract_streams(client, warehouse, [STREAMS[name] for name in INCREMENTAL_STREAMS])
    assert_matches_store(store, warehouse)


def test_watermarks_are_kept_in_sync_state(bc_store, warehouse):
    store = bc_store()
    results = sync(store, store.client(), warehouse)

    state = dict(warehouse.execute("SELECT stream, watermark FROM bigcommerce.sync_state").fetchall())
    for name in INCREMENTAL_STREAMS:
        assert state[name] == results[name].watermark
    pending = warehouse.execute(
        "SELECT count(*) FROM bigcommerce.sync_state WHERE window_start IS NOT NULL OR resume_after IS NOT NULL"
    ).fetchall()
    assert pending == [(0,)]


def test_a_backfill_window_stages_that_range_without_moving_the_watermark(bc_store, warehouse):
    store = bc_store()
    modified = {order_id: parsedate_to_datetime(order["date_modified"]) for order_id, order in store.expected("orders").items()}
    middle = sorted(modified.values())[len(modified) // 2]
    first_day = datetime.combine(middle.date(), time(), timezone.utc)
    window = (first_day, first_day + timedelta(days=7) - timedelta(seconds=1))

    result = extract_stream(store.client(), warehouse, STREAMS["orders"], window=window)

    # The window's first second is re-read from one second earlier (min/max inclusivity is undocumented).
    expected = {order_id for order_id, moment in modified.items() if window[0] - timedelta(seconds=1) <= moment <= window[1]}
    assert set(staged(warehouse, "orders")) == expected
    assert result.rows_staged == len(expected) > 0
    watermarks = dict(warehouse.execute("SELECT stream, watermark FROM bigcommerce.sync_state").fetchall())
    assert watermarks.get("orders") is None


class RecordingClient(BigCommerceClient):
    """The real client, keeping the query of every request it sends."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sent: list[dict] = []
        self._lock = threading.Lock()

    def get(self, path, params=None, **kwargs):
        with self._lock:
            self.sent.append({"path": path, **(params or {})})
        return super().get(path, params, **kwargs)


# How each keyset stream's two directions show in its queries: the stream, its path, the sort parameter and the
# value that sorts ascending / descending, and its inclusive lower / upper id filters.
TWO_ENDED = {
    "orders": ("/v2/orders", "sort", "id:asc", "id:desc", "min_id", "max_id"),
    "products": ("/v3/catalog/products", "direction", "asc", "desc", "id:min", "id:max"),
}


@pytest.mark.parametrize("stream, rows", [("orders", 1900), ("products", 1300)])
def test_keyset_streams_are_read_from_both_ends_of_the_id_range_at_once(bc_store, warehouse, stream, rows):
    path, sort, asc, desc, id_min, id_max = TWO_ENDED[stream]
    store = bc_store(**{stream: rows})
    client = RecordingClient(store.api_url, TOKEN)
    store.clients.append(client)

    sync(store, client, warehouse, streams=(stream,))

    assert_matches_store(store, warehouse, streams=(stream,))
    sent = [query for query in client.sent if query["path"] == path]
    upwards = [query for query in sent if query[sort] == asc]
    downwards = [query for query in sent if query[sort] == desc]
    # The first request goes alone; each later one is bounded by what the other direction had read.
    assert id_min not in sent[0] and id_max not in sent[0]
    # How the pages split between the directions depends on which answers first; both take part.
    assert len(upwards) >= 2 and len(downwards) >= 1
    assert all(id_min in query for query in upwards[1:] + downwards)
    # Each request leaves out the ids the other direction's request on its way will read, so at most one page
    # more than the minimum (a request cut short by that bound) is made, whichever direction answers first.
    assert len(sent) <= math.ceil(len(store.expected(stream)) / 250) + 1


def test_an_exact_multiple_of_a_page_ends_without_an_empty_page(bc_store, warehouse):
    store = bc_store(products=1000)
    client = RecordingClient(store.api_url, TOKEN)
    store.clients.append(client)
    assert len(store.expected("products")) == 1000

    sync(store, client, warehouse, streams=("products",))

    assert_matches_store(store, warehouse, streams=("products",))
    assert len([query for query in client.sent if query["path"] == "/v3/catalog/products"]) == 4


def test_a_window_that_fits_one_page_costs_one_request(bc_store, warehouse):
    store = bc_store(orders=120)
    client = RecordingClient(store.api_url, TOKEN)
    store.clients.append(client)

    sync(store, client, warehouse, streams=("orders",))

    assert [query["sort"] for query in client.sent] == ["id:asc"]
    assert_matches_store(store, warehouse, streams=("orders",))


def test_without_a_date_header_the_store_is_asked_for_its_time(bc_store):
    store = bc_store()
    client = store.client()
    answer = list_request(client, STREAMS["orders"], {"limit": 1}, 1)
    store.sandbox.clock.advance(3600)
    window = ScanWindow(datetime(2024, 1, 1, tzinfo=timezone.utc), lag=SAFETY_LAG)

    closed = window.closed_by(client, dataclasses.replace(answer, date=None))

    assert api_requests(store)["GET /v2/time"] == 1
    assert closed.end >= answer.date + timedelta(seconds=3600) - SAFETY_LAG


def test_pages_waiting_to_be_staged_hold_their_body_and_no_parsed_copy(bc_store):
    store = bc_store(orders=1000)
    # tracemalloc slows the sandbox too (it serves from this process), so a busy machine needs a patient client.
    client = store.client(timeout=(1.0, 30.0))
    client.get("/v2/store")  # the sandbox's render caches and the connection are made before measuring
    window = ScanWindow(datetime(2000, 1, 1, tzinfo=timezone.utc), lag=SAFETY_LAG)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        waiting = list(pages(client, STREAMS["orders"], window, None))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()

    bodies = sum(sys.getsizeof(page.content) for page in waiting if page.content)
    assert bodies > 5_000_000
    # Parsed, an orders page takes several times its body; the scan keeps only the body a page is staged from.
    assert held < 1.5 * bodies
