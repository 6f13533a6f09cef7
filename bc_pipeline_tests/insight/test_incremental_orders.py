"""The Orders transform builds again only the orders whose record may have changed, and ends where a build from
scratch would."""

import json

from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline.transform.contacts import build_contacts
from bc_pipeline.transform.order_insight import build_order_insight
from bc_pipeline.warehouse import stage_pages
from bc_pipeline_tests.insight.test_insight_records import FULL_ORDER, PRODUCTS, SPARSE_ORDER, STORE, _staged

LATER = "Wed, 29 Jul 2026 10:00:00 +0000"


def _stage(conn, stream: str, records: list[dict]) -> None:
    spec = STREAMS[stream]
    body = json.dumps(records if spec.api_version == "v2" else {"data": records}).encode()
    stage_pages(conn, spec.table, spec.child_tables, [body], spec.records_path)


def _rebuild(conn) -> None:
    build_contacts(conn, {}, {"customers": True, "subscribers": True})
    build_order_insight(conn)


def _built(conn) -> dict[str, tuple]:
    """Per outbound order: its hash and when it was built."""
    return {key: (hash_, built_at) for key, hash_, built_at in
            conn.execute("SELECT key, hash, built_at FROM dotmailer.outbound_orders").fetchall()}


def _rebuilt_keys(before: dict[str, tuple], after: dict[str, tuple]) -> set[str]:
    return {key for key, (_, built_at) in after.items() if key not in before or before[key][1] != built_at}


def _orders(conn) -> dict[str, dict]:
    return {key: json.loads(value) for key, value in
            conn.execute("SELECT key, json FROM dotmailer.outbound_orders").fetchall()}


def _tables(conn) -> tuple[set, set]:
    outbound = set(conn.execute("SELECT key, email_key, email, json::VARCHAR, hash FROM dotmailer.outbound_orders")
                   .fetchall())
    rejected = set(conn.execute("SELECT key, email_key, email, reason FROM dotmailer.rejected_orders").fetchall())
    return outbound, rejected


def _assert_same_as_from_scratch(conn) -> None:
    incremental = _tables(conn)
    conn.execute("DELETE FROM dotmailer.transform_builds")
    build_order_insight(conn)
    assert _tables(conn) == incremental


def test_nothing_changed_rebuilds_no_order(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    before = _built(conn)
    rejected_before = conn.execute("SELECT key, rejected_at FROM dotmailer.rejected_orders ORDER BY key").fetchall()

    _rebuild(conn)

    assert _built(conn) == before
    assert conn.execute("SELECT key, rejected_at FROM dotmailer.rejected_orders ORDER BY key").fetchall() \
        == rejected_before


def test_a_changed_order_is_the_only_one_rebuilt(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    before = _built(conn)

    _stage(conn, "orders", [{**FULL_ORDER, "total_inc_tax": "99.0000", "date_modified": LATER}])
    _rebuild(conn)

    after = _built(conn)
    assert _rebuilt_keys(before, after) == {"1"}
    assert after["1"][0] != before["1"][0] and after["2"] == before["2"]
    assert _orders(conn)["1"]["orderTotal"] == 99.0
    _assert_same_as_from_scratch(conn)


def test_a_changed_or_deleted_product_rebuilds_the_orders_holding_it(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    mug = PRODUCTS[0]
    before = _built(conn)

    _stage(conn, "products", [{**mug, "categories": [9], "date_modified": "2026-02-01T00:00:00+00:00"}])
    _rebuild(conn)

    assert _rebuilt_keys(before, _built(conn)) == {"1"}
    assert _orders(conn)["1"]["products"][0]["categories"] == [{"Id": "9"}]

    conn.execute("INSERT INTO bigcommerce.deleted_records VALUES ('products', 5, now())")
    conn.execute("DELETE FROM bigcommerce.products WHERE id = 5")
    _rebuild(conn)

    assert _orders(conn)["1"]["products"][0]["categories"] == []
    _assert_same_as_from_scratch(conn)


def test_orders_follow_their_contact_and_leave_when_archived(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")

    # A registered customer takes over order 2's contact: the record now carries the customer's spelling.
    _stage(conn, "customers", [{"id": 77, "email": "BOB@example.com", "date_modified": "2026-07-29T10:00:00Z"}])
    conn.execute("UPDATE bigcommerce.orders SET customer_id = 77 WHERE id = 2")
    conn.execute("UPDATE bigcommerce.orders SET is_deleted = true, staged_at = now() WHERE id = 1")
    _rebuild(conn)

    orders = _orders(conn)
    assert set(orders) == {"2"}
    assert orders["2"]["email"] == "BOB@example.com"
    _assert_same_as_from_scratch(conn)


def test_a_new_store_name_rebuilds_every_order(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    before = _built(conn)

    _stage(conn, "store", [{**STORE, "name": "Shop & Co"}])
    _rebuild(conn)

    assert _rebuilt_keys(before, _built(conn)) == set(before)
    assert {order["storeName"] for order in _orders(conn).values()} == {"Shop & Co"}


def test_a_sparse_order_keeps_its_record_when_others_change(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    sparse_before = _orders(conn)["2"]

    _stage(conn, "orders", [{**SPARSE_ORDER, "id": 30, "date_modified": LATER}])
    _rebuild(conn)

    orders = _orders(conn)
    assert orders["2"] == sparse_before and orders["30"]["id"] == "30"
    _assert_same_as_from_scratch(conn)


def test_an_order_of_a_deleted_customer_with_an_invalid_email_is_rejected_not_sent(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    # Customer 1062 is gone (deleted by webhook): no contact row checks the email their order falls back to.
    _stage(conn, "orders", [{**FULL_ORDER, "id": 9, "customer_id": 1062, "date_modified": LATER,
                             "billing_address": {"email": "martin.tlustek1062.mail.example"}}])
    _rebuild(conn)

    assert "9" not in _orders(conn)
    rejected = conn.execute("SELECT email, reason FROM dotmailer.rejected_orders WHERE key = '9'").fetchall()
    assert rejected == [("martin.tlustek1062.mail.example", "email is not a valid address")]
    _assert_same_as_from_scratch(conn)


def test_orders_built_in_batches_are_the_orders_built_at_once(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    at_once = _tables(conn)
    assert len(at_once[0]) > 1, "the fixture must hold several sendable orders"

    conn.execute("DELETE FROM dotmailer.transform_builds")
    build_order_insight(conn, batch_orders=1)

    assert _tables(conn) == at_once
