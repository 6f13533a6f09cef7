"""The staging schema contract and the page upsert: newest version wins, children follow their parent."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import duckdb
import pytest

from bc_pipeline import warehouse
from bc_pipeline.warehouse import open_warehouse, run_sql, stage_pages
from bc_pipeline_tests.duckdb_memory import cached_table_bytes


def _columns(conn, table: str) -> dict[str, str]:
    return dict(
        run_sql(
            conn,
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'bigcommerce' AND table_name = ?",
            [table],
        )
    )


def test_open_warehouse_is_idempotent_and_creates_the_contract(tmp_path):
    path = tmp_path / "home" / "warehouse.duckdb"
    open_warehouse(path).close()
    conn = open_warehouse(path)

    tables = {row[0] for row in run_sql(conn, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'bigcommerce'")}
    assert tables == {"customers", "customer_addresses", "subscribers", "orders", "order_line_items", "products",
                      "store", "sync_state"}
    orders = _columns(conn, "orders")
    assert orders["customer_id"] == "BIGINT" and orders["is_deleted"] == "BOOLEAN"
    assert orders["billing_email"] == "VARCHAR" and orders["total_inc_tax"] == "DECIMAL(18,4)"
    assert orders["date_modified"] == "TIMESTAMP WITH TIME ZONE" and orders["raw"] == "JSON"
    subscribers = _columns(conn, "subscribers")
    assert subscribers["consents"] == "VARCHAR[]" and subscribers["marketing_newsletter"] == "BOOLEAN"
    products = _columns(conn, "products")
    assert products["categories"] == "INTEGER[]" and products["is_visible"] == "BOOLEAN"
    assert products["custom_url"] == "VARCHAR" and products["sale_price"] == "DECIMAL(18,4)"
    for table in tables - {"sync_state", "customer_addresses", "order_line_items"}:
        assert {"raw", "staged_at"} <= set(_columns(conn, table))
    # Children are read out of their parent's raw JSON; a copy of their own would only be written twice.
    for table in ("customer_addresses", "order_line_items"):
        assert "staged_at" in _columns(conn, table) and "raw" not in _columns(conn, table)
    assert {"stream", "watermark", "window_start", "window_end", "resume_after", "last_run_started",
            "last_run_finished", "rows_last_run"} <= set(_columns(conn, "sync_state"))
    conn.close()


def test_an_older_file_gains_new_columns_filled_from_raw_and_keeps_its_rows(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(path))
    run_sql(conn, "CREATE SCHEMA bigcommerce")
    run_sql(conn, "CREATE TABLE bigcommerce.products (id BIGINT NOT NULL, name VARCHAR, raw JSON NOT NULL, "
                  "staged_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (id))")
    run_sql(conn, """INSERT INTO bigcommerce.products VALUES
        (1, 'old', '{"is_visible": true, "categories": [3, 5], "custom_url": {"url": "/old/"}}', now()),
        (2, 'bare', '{}', now())""")
    conn.close()

    conn = open_warehouse(path)

    assert "is_visible" in _columns(conn, "products")
    assert run_sql(conn, "SELECT id, name, is_visible, categories, custom_url FROM bigcommerce.products ORDER BY id") == [
        (1, "old", True, [3, 5], "/old/"), (2, "bare", None, [], None)]
    conn.close()


def test_an_older_file_drops_its_childrens_raw_json_and_fills_their_new_columns_from_the_parents(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    conn = open_warehouse(path)
    _stage_orders(conn, [_order(1, "Mon, 01 Jan 2024 10:00:00 +0000", 10, [11, 12])])
    order = _order(2, "Mon, 01 Jan 2024 10:00:00 +0000", 10, [21])
    order["consignments"]["shipping"][0]["line_items"][0]["applied_discounts"] = [
        {"id": "coupon", "amount": "1.5000", "name": "Spring", "code": "SPRING10", "target": "order"}]
    _stage_orders(conn, [order])
    # As a release before children stopped keeping their own raw JSON left the file.
    run_sql(conn, "ALTER TABLE bigcommerce.order_line_items DROP COLUMN applied_discounts")
    run_sql(conn, "ALTER TABLE bigcommerce.order_line_items ADD COLUMN raw JSON")
    run_sql(conn, "UPDATE bigcommerce.order_line_items SET raw = '{}'")
    run_sql(conn, "ALTER TABLE bigcommerce.customer_addresses ADD COLUMN raw JSON")
    conn.close()

    conn = open_warehouse(path)

    assert "raw" not in _columns(conn, "order_line_items") and "raw" not in _columns(conn, "customer_addresses")
    lines = run_sql(conn, "SELECT order_id, id, price_ex_tax, applied_discounts FROM bigcommerce.order_line_items "
                          "ORDER BY ALL")
    assert [(order_id, line_id, float(price)) for order_id, line_id, price, _ in lines] == [
        (1, 11, 1.25), (1, 12, 1.25), (2, 21, 1.25)]
    assert [discounts for *_, discounts in lines] == [None, None, [
        {"id": "coupon", "amount": Decimal("1.5000"), "name": "Spring", "code": "SPRING10", "target": "order"}]]
    _stage_orders(conn, [_order(3, "Mon, 01 Jan 2024 10:00:00 +0000", 10, [31])])
    assert run_sql(conn, "SELECT count(*) FROM bigcommerce.order_line_items WHERE order_id = 3") == [(1,)]
    conn.close()


def test_tables_are_written_in_small_row_groups_and_cursors_write_to_the_file(tmp_path):
    path = tmp_path / "o'brien's store" / "warehouse.duckdb"
    conn = open_warehouse(path)
    cursor = conn.cursor()
    run_sql(cursor, "CREATE TABLE bigcommerce.wide AS SELECT range AS id, repeat('x', 50) AS raw FROM range(40000)")
    cursor.close()
    conn.close()

    conn = duckdb.connect(str(path), read_only=True)
    groups = run_sql(conn, "SELECT row_group_id, max(count) FROM pragma_storage_info('bigcommerce.wide') GROUP BY 1")
    assert len(groups) >= 40000 // warehouse.ROW_GROUP_SIZE
    assert max(rows for _, rows in groups) <= warehouse.ROW_GROUP_SIZE
    conn.close()


def _order(order_id: int, modified: str, status_id: int, line_ids: list[int]) -> dict:
    return {
        "id": order_id, "customer_id": 0, "status_id": status_id, "date_modified": modified,
        "billing_address": {"email": "guest@example.org"}, "total_inc_tax": "10.5000",
        "consignments": {"pickups": [], "downloads": [], "email": {"gift_certificates": []},
                         "shipping": [{"line_items": [{"id": line_id, "price_ex_tax": "1.2500"} for line_id in line_ids]}]},
    }


def _stage_orders(conn, orders: list[dict]) -> int:
    run_sql(conn, "BEGIN TRANSACTION")
    staged = stage_pages(conn, warehouse.ORDERS, (warehouse.ORDER_LINE_ITEMS,), [json.dumps(orders).encode()], "$[*]")
    run_sql(conn, "COMMIT")
    return staged


def test_the_newest_version_wins_and_replaces_the_children(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    _stage_orders(conn, [_order(1, "Mon, 01 Jan 2024 10:00:00 +0000", 1, [11, 12, 13])])

    _stage_orders(conn, [_order(1, "Mon, 01 Jan 2024 11:00:00 +0000", 10, [11, 14])])
    assert _stage_orders(conn, [_order(1, "Mon, 01 Jan 2024 10:30:00 +0000", 5, [99])]) == 0  # a stale re-read

    assert run_sql(conn, "SELECT status_id FROM bigcommerce.orders") == [(10,)]
    assert run_sql(conn, "SELECT id FROM bigcommerce.order_line_items ORDER BY id") == [(11,), (14,)]
    conn.close()


def test_new_records_leave_stored_children_alone_and_a_replaced_one_beside_them_loses_its_old_children(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    ten, eleven = "Mon, 01 Jan 2024 10:00:00 +0000", "Mon, 01 Jan 2024 11:00:00 +0000"
    _stage_orders(conn, [_order(1, ten, 1, [11, 12])])

    assert _stage_orders(conn, [_order(2, ten, 1, [21]), _order(3, ten, 1, [31])]) == 2
    assert _stage_orders(conn, [_order(1, eleven, 10, [13]), _order(4, ten, 1, [41])]) == 2

    assert run_sql(conn, "SELECT order_id, id FROM bigcommerce.order_line_items ORDER BY ALL") == [
        (1, 13), (2, 21), (3, 31), (4, 41)]
    conn.close()


def test_a_batch_of_a_stale_a_newer_and_a_new_record_keeps_the_stored_newest_and_takes_the_rest(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    ten, eleven = "Mon, 01 Jan 2024 10:00:00 +0000", "Mon, 01 Jan 2024 11:00:00 +0000"
    noon = "Mon, 01 Jan 2024 12:00:00 +0000"
    _stage_orders(conn, [_order(1, eleven, 1, [11]), _order(2, ten, 1, [21])])

    # Order 1 listed in an older version than stored, order 2 in a newer one, order 3 for the first time.
    assert _stage_orders(conn, [_order(1, ten, 5, [19]), _order(2, noon, 10, [22]), _order(3, ten, 1, [31])]) == 2

    assert run_sql(conn, "SELECT id, status_id FROM bigcommerce.orders ORDER BY id") == [(1, 1), (2, 10), (3, 1)]
    assert run_sql(conn, "SELECT order_id, id FROM bigcommerce.order_line_items ORDER BY ALL") == [
        (1, 11), (2, 22), (3, 31)]
    conn.close()


def test_pages_staged_together_keep_one_row_per_record_in_its_newest_version(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    ten, eleven = "Mon, 01 Jan 2024 10:00:00 +0000", "Mon, 01 Jan 2024 11:00:00 +0000"
    first = [_order(1, ten, 1, [11]), _order(2, ten, 1, [21])]
    # Order 1 changed between the two requests and was listed again.
    second = [_order(1, eleven, 10, [12, 13]), _order(3, ten, 1, [31])]

    run_sql(conn, "BEGIN TRANSACTION")
    pages = [json.dumps(first).encode(), json.dumps(second).encode()]
    staged = stage_pages(conn, warehouse.ORDERS, (warehouse.ORDER_LINE_ITEMS,), pages, "$[*]")
    run_sql(conn, "COMMIT")

    assert staged == 3
    assert run_sql(conn, "SELECT id, status_id FROM bigcommerce.orders ORDER BY id") == [(1, 10), (2, 1), (3, 1)]
    assert run_sql(conn, "SELECT order_id, id FROM bigcommerce.order_line_items ORDER BY order_id, id") == [
        (1, 12), (1, 13), (2, 21), (3, 31)]
    conn.close()


def test_rereading_the_same_page_is_harmless_and_duplicates_in_a_page_collapse(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    page = [_order(1, "Mon, 01 Jan 2024 10:00:00 +0000", 1, [11]),
            _order(1, "Mon, 01 Jan 2024 10:00:05 +0000", 2, [11]),
            _order(2, "Mon, 01 Jan 2024 10:00:00 +0000", 1, [21, 21])]

    assert _stage_orders(conn, page) == 2
    _stage_orders(conn, page)

    assert run_sql(conn, "SELECT id, status_id FROM bigcommerce.orders ORDER BY id") == [(1, 2), (2, 1)]
    assert run_sql(conn, "SELECT order_id, id FROM bigcommerce.order_line_items ORDER BY ALL") == [(1, 11), (2, 21)]
    conn.close()


def test_line_items_come_from_every_kind_of_consignment_once_each(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    ten = "Mon, 01 Jan 2024 10:00:00 +0000"
    mixed = _order(1, ten, 1, [])
    # Line 11 ships in two parcels, so both shipping consignments list it.
    mixed["consignments"] = {
        "shipping": [{"line_items": [{"id": 11, "quantity": 3}]},
                     {"line_items": [{"id": 11, "quantity": 3}, {"id": 12, "quantity": 1}]}],
        "pickups": [{"line_items": [{"id": 13, "name": "Café table",
                                     "applied_discounts": [{"id": "c1", "amount": "2.5"}]}]}],
        "downloads": [{"line_items": [{"id": 14, "type": "digital"}]}],
        "email": {"gift_certificates": [{"line_items": [{"id": 15, "price_ex_tax": "25.0000"}]}]},
    }
    without = _order(2, ten, 1, [])
    without["consignments"] = None
    odd = _order(3, ten, 1, [])
    odd["consignments"] = {"shipping": [{"line_items": None}, {"line_items": [{"id": 31}]}], "email": []}

    assert _stage_orders(conn, [mixed, without, odd]) == 3

    assert run_sql(conn, "SELECT order_id, id, quantity, name, type, price_ex_tax, applied_discounts[1].amount "
                         "FROM bigcommerce.order_line_items ORDER BY ALL") == [
        (1, 11, 3, None, None, None, None),
        (1, 12, 1, None, None, None, None),
        (1, 13, None, "Café table", None, None, Decimal("2.5")),
        (1, 14, None, None, "digital", None, None),
        (1, 15, None, None, None, Decimal("25"), None),
        (3, 31, None, None, None, None, None),
    ]
    conn.close()


def test_a_child_table_reading_an_indexed_path_is_refused_with_the_path():
    child = warehouse.StagingTable(
        "gifts", ("order_id", "id"),
        (warehouse.Column("order_id", "BIGINT", "parent_id"), warehouse.Column("id", "BIGINT", warehouse.field("ids[0]"))),
        parent=warehouse.ORDERS, records=("gifts[*]",), parent_column="order_id",
    )
    with pytest.raises(ValueError, match=r"ids\[0\]"):
        child.child_rows("parents")


def _warehouse_oid(conn) -> int:
    return run_sql(conn, "SELECT database_oid FROM duckdb_databases() WHERE database_name = 'warehouse'")[0][0]


def test_reattaching_keeps_the_rows_the_cursors_and_their_temporary_tables_and_drops_the_cached_blocks(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    cursor = conn.cursor()
    _stage_orders(cursor, [_order(order_id, "2024-01-01T00:00:00Z", 11, [order_id]) for order_id in range(1, 3001)])
    run_sql(cursor, "CREATE TEMP TABLE kept AS SELECT 1 AS one")
    run_sql(conn, "CHECKPOINT")
    run_sql(cursor, "SELECT sum(length(raw)) FROM bigcommerce.orders")
    attached, cached = _warehouse_oid(conn), cached_table_bytes(conn)

    warehouse.reattach_warehouse(conn)

    assert _warehouse_oid(conn) != attached
    # Attaching reads the file's catalog, one block of it.
    assert cached_table_bytes(conn) <= 256 * 1024 < cached // 4
    assert run_sql(cursor, "SELECT count(*) FROM bigcommerce.orders") == [(3000,)]
    assert run_sql(cursor, "SELECT count(*) FROM bigcommerce.order_line_items") == [(3000,)]
    assert run_sql(cursor, "SELECT one FROM kept") == [(1,)]
    _stage_orders(cursor, [_order(3001, "2024-01-01T00:00:00Z", 11, [3001])])
    conn.close()
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as reopened:
        assert run_sql(reopened, "SELECT count(*) FROM bigcommerce.orders") == [(3001,)]


def test_an_in_memory_warehouse_is_not_reattached(tmp_path):
    conn = open_warehouse(":memory:")
    _stage_orders(conn, [_order(1, "2024-01-01T00:00:00Z", 11, [1])])

    warehouse.reattach_warehouse(conn)

    assert run_sql(conn, "SELECT id FROM bigcommerce.orders") == [(1,)]


def _hold_read_only(path, seconds: float) -> subprocess.Popen:
    """Another process with the file open read-only for `seconds`, as `bc-pipeline status` has it for a moment."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time, duckdb; conn = duckdb.connect(sys.argv[1], read_only=True); "
         "print('open', flush=True); time.sleep(float(sys.argv[2]))", str(path), str(seconds)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "open"
    return holder


def test_attaching_again_waits_for_another_process_holding_the_file(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    open_warehouse(path).close()
    host = duckdb.connect()
    holder = _hold_read_only(path, 1.0)

    # The file was held when this began: without waiting, the attach would have failed at once.
    warehouse.attach_when_unlocked(host, str(path), wait_s=30)

    assert holder.wait(timeout=5) == 0
    assert run_sql(host, "SELECT count(*) FROM bigcommerce.orders") == [(0,)]


def test_attaching_again_gives_up_on_a_file_held_too_long_and_says_so(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    open_warehouse(path).close()
    holder = _hold_read_only(path, 5.0)
    try:
        with pytest.raises(duckdb.IOException) as raised:
            warehouse.attach_when_unlocked(duckdb.connect(), str(path), wait_s=0.3)
    finally:
        holder.kill()
        holder.wait()

    assert "Could not set lock" in str(raised.value)
    assert "another process held the warehouse file for over 0.3 s" in "\n".join(raised.value.__notes__)


def test_records_known_to_be_new_are_staged_without_reading_the_stored_row_groups(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    # Batches from both ends of the id range, as the two-ended orders scan stages them: every row group spans it.
    for n in range(16):
        ids = [*range(1 + n * 500, 501 + n * 500), *range(99_500 - n * 500, 100_000 - n * 500)]
        _stage_orders(conn, [_order(i, "2024-01-01T00:00:00Z", 11, [i]) for i in ids])
        run_sql(conn, "CHECKPOINT")
    middle = [json.dumps([_order(i, "2024-01-01T00:00:00Z", 11, [i]) for i in range(50_000, 50_250)]).encode()]
    read = {}
    for new_records in (False, True):
        warehouse.reattach_warehouse(conn)
        before = cached_table_bytes(conn)
        run_sql(conn, "BEGIN TRANSACTION")
        stage_pages(conn, warehouse.ORDERS, (warehouse.ORDER_LINE_ITEMS,), middle, "$[*]", new_records=new_records)
        run_sql(conn, "ROLLBACK")
        read[new_records] = cached_table_bytes(conn) - before
    # Looking for stored versions reads a block for each of the 8 row groups; new records are appended to the last
    # one, whose blocks are all they read.
    block = 256 * 1024
    assert read[True] <= 2 * block and read[False] >= 8 * block
