"""The inbox's queries: cursors over events, deletions, and which carts are still abandoned."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime, timedelta, timezone

import pytest

from bc_pipeline.webhooks import Inbox

from .conftest import EVENT_TIME

CART = "09346904-4175-44fd-be53-f7e598531b6c"
OTHER_CART = "b0386708-fef3-45de-9d8b-fbe3031450a4"
EVENT_MOMENT = datetime.fromtimestamp(EVENT_TIME, tz=timezone.utc)
LATER = EVENT_MOMENT + timedelta(hours=1)


def abandoned(make_callback, cart_id: str, token: str, created_at: int = EVENT_TIME) -> dict:
    return make_callback("store/cart/abandoned", {"type": "cart", "id": cart_id, "token": token}, created_at=created_at)


def converted(make_callback, cart_id: str, created_at: int) -> dict:
    return make_callback("store/cart/converted", {"type": "cart", "id": cart_id, "orderId": 252}, created_at=created_at)


def test_inbox_file_uses_wal_journal_mode(inbox):
    with closing(sqlite3.connect(inbox.path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_events_after_is_a_cursor_with_scope_filter_and_limit(inbox, append_callback, make_callback):
    for customer_id in range(1, 6):
        scope = "store/customer/deleted" if customer_id % 2 else "store/customer/updated"
        append_callback(make_callback(scope, {"type": "customer", "id": customer_id}))

    assert inbox.max_seq() == 5
    assert [event.seq for event in inbox.events_after(0)] == [1, 2, 3, 4, 5]
    assert [event.seq for event in inbox.events_after(3)] == [4, 5]
    assert [event.seq for event in inbox.events_after(0, limit=2)] == [1, 2]
    assert [event.data_id for event in inbox.events_after(0, scopes=["store/customer/updated"])] == ["2", "4"]
    assert inbox.events_after(0, scopes=[]) == []
    assert inbox.events_after(5) == []


def test_empty_inbox(inbox):
    assert inbox.max_seq() == 0
    assert inbox.events_after(0) == []
    assert inbox.deleted_ids("customer") == []
    assert inbox.abandoned_carts(older_than=LATER) == []


def test_append_reports_duplicates_by_hash(append_callback, make_callback):
    body = make_callback("store/subscriber/deleted", {"type": "subscriber", "id": 5})
    assert append_callback(body) is True
    assert append_callback(body) is False
    assert append_callback({**body, "data": {"type": "subscriber", "id": 6}}) is False


def test_deleted_ids_per_kind_within_a_seq_range(inbox, append_callback, make_callback):
    append_callback(make_callback("store/customer/deleted", {"type": "customer", "id": 32}))
    append_callback(make_callback("store/product/deleted", {"type": "product", "id": 205}))
    append_callback(make_callback("store/customer/deleted", {"type": "customer", "id": 7}))
    append_callback(make_callback("store/order/archived", {"type": "order", "id": 250}))
    append_callback(make_callback("store/order/updated", {"type": "order", "id": 251}))
    through = inbox.max_seq()
    append_callback(make_callback("store/customer/deleted", {"type": "customer", "id": 99}))
    append_callback(make_callback("store/customer/deleted", {"type": "customer", "id": 32}, created_at=EVENT_TIME + 1))

    assert inbox.deleted_ids("customer") == [7, 32, 99]
    assert inbox.deleted_ids("customer", through_seq=through) == [7, 32]
    assert inbox.deleted_ids("customer", after_seq=through) == [32, 99]
    assert inbox.deleted_ids("customer", after_seq=1, through_seq=through) == [7]
    assert inbox.deleted_ids("product") == [205]
    assert inbox.deleted_ids("order") == [250]
    assert inbox.deleted_ids("subscriber") == []


def test_deleted_ids_refuses_an_unknown_kind(inbox):
    with pytest.raises(ValueError, match="unknown deletion kind 'cart'"):
        inbox.deleted_ids("cart")


def test_abandoned_cart_is_listed_with_its_token(inbox, append_callback, make_callback):
    append_callback(abandoned(make_callback, CART, "token-1"))

    [cart] = inbox.abandoned_carts(older_than=LATER)

    assert (cart.cart_id, cart.token, cart.abandoned_at, cart.seq) == (CART, "token-1", EVENT_MOMENT, 1)


def test_converted_cart_is_not_abandoned(inbox, append_callback, make_callback):
    append_callback(abandoned(make_callback, CART, "token-1"))
    append_callback(abandoned(make_callback, OTHER_CART, "token-2"))
    append_callback(converted(make_callback, CART, created_at=EVENT_TIME + 60))

    assert [cart.cart_id for cart in inbox.abandoned_carts(older_than=LATER)] == [OTHER_CART]


def test_conversion_received_before_a_retried_abandonment_still_ends_the_cart(inbox, append_callback, make_callback):
    append_callback(converted(make_callback, CART, created_at=EVENT_TIME + 60))
    append_callback(abandoned(make_callback, CART, "token-1"))

    assert inbox.abandoned_carts(older_than=LATER) == []


def test_deleted_cart_is_not_abandoned(inbox, append_callback, make_callback):
    append_callback(abandoned(make_callback, CART, "token-1"))
    append_callback(make_callback("store/cart/deleted", {"type": "cart", "id": CART}, created_at=EVENT_TIME + 60))

    assert inbox.abandoned_carts(older_than=LATER) == []


def test_latest_abandonment_decides_token_and_age(inbox, append_callback, make_callback):
    append_callback(abandoned(make_callback, CART, "token-old", created_at=EVENT_TIME))
    append_callback(abandoned(make_callback, CART, "token-new", created_at=EVENT_TIME + 1800))

    [cart] = inbox.abandoned_carts(older_than=LATER)
    assert (cart.token, cart.abandoned_at) == ("token-new", EVENT_MOMENT + timedelta(minutes=30))
    assert inbox.abandoned_carts(older_than=EVENT_MOMENT + timedelta(minutes=10)) == []


def test_abandonments_newer_than_the_cutoff_wait(inbox, append_callback, make_callback):
    append_callback(abandoned(make_callback, CART, "token-1", created_at=EVENT_TIME))
    append_callback(abandoned(make_callback, OTHER_CART, "token-2", created_at=EVENT_TIME + 7200))

    assert [cart.cart_id for cart in inbox.abandoned_carts(older_than=LATER)] == [CART]
    assert inbox.abandoned_carts(older_than=EVENT_MOMENT) == []


def test_abandonment_without_created_at_is_aged_from_receipt(inbox, append_callback, make_callback):
    append_callback(make_callback("store/cart/abandoned", {"type": "cart", "id": CART, "token": "t"}, created_at=None))
    now = datetime.now(timezone.utc)

    assert inbox.abandoned_carts(older_than=now - timedelta(minutes=1)) == []
    [cart] = inbox.abandoned_carts(older_than=now + timedelta(minutes=1))
    assert abs(cart.abandoned_at - now) < timedelta(seconds=5)


def test_naive_cutoff_is_refused(inbox):
    with pytest.raises(ValueError, match="timezone-aware"):
        inbox.abandoned_carts(older_than=datetime(2026, 11, 28))


def test_a_second_inbox_on_the_same_file_sees_the_same_events(inbox_path, append_callback, make_callback):
    append_callback(make_callback("store/product/deleted", {"type": "product", "id": 1}))

    assert Inbox(inbox_path).deleted_ids("product") == [1]
