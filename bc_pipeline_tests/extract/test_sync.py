"""Full and incremental syncs against a sandbox store: exact contents, request budget, no 429."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest

from bc_pipeline.bigcommerce.extract import SAFETY_LAG, extract_stream, extract_streams
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline_tests.extract.conftest import (
    INCREMENTAL_STREAMS,
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

    results = extract_streams(client, warehouse, STREAMS.values(), now=store.store_now())

    assert_matches_store(store, warehouse)
    stats = store.sandbox.stats()
    assert "429" not in stats["status_counts"]
    assert sum(result.rate_limited for result in results.values()) == 0
    # The minimum is one request per 250 rows; allow one more per stream (a page that only confirms the end).
    assert stats["total_requests"] <= minimum_requests(store) + len(INCREMENTAL_STREAMS) + 1
    assert api_requests(store)["GET /v2/store"] == 1
    assert sum(result.requests for result in results.values()) == stats["total_requests"]


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


def test_windows_end_at_the_store_clock_read_once_per_sync(bc_store, warehouse):
    store = bc_store()
    client = store.client()
    extract_streams(client, warehouse, [STREAMS[name] for name in INCREMENTAL_STREAMS])
    store.sandbox.clock.advance(120)  # the store's clock runs ahead of ours
    store.sandbox.activity(30)
    before = store.sandbox.stats()["requests"]

    results = extract_streams(client, warehouse, [STREAMS[name] for name in INCREMENTAL_STREAMS])

    after = store.sandbox.stats()["requests"]
    assert after["GET /v2/time"] - before["GET /v2/time"] == 1
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
