"""Stores whose records are very large: a page DuckDB cannot parse whole under its memory cap is staged in slices,
a record too large even alone stops its stream with an error that names it, keeping what was staged, and columns
a later release adds are filled from raw a range of rows at a time."""

import pytest

from bc_pipeline import warehouse as warehouse_module
from bc_pipeline.warehouse import RecordsTooLarge, open_warehouse
from bc_pipeline_tests.extract.conftest import MIB, assert_matches_store, extract_large, large_orders, staged


def test_a_page_too_large_to_parse_under_the_cap_is_staged_in_slices(bc_store, warehouse):
    store = bc_store(customers=20, orders=0, products=5)
    store.sandbox.load({"orders": large_orders(20, MIB)})

    # One page of 20 MB: DuckDB needs more than its default cap of 256MB to parse it whole.
    extract_large(store, warehouse, ("customers", "orders"))

    assert_matches_store(store, warehouse, streams=("customers", "orders"))
    notes = warehouse.execute("SELECT min(length(raw->>'staff_notes')) FROM bigcommerce.orders").fetchone()[0]
    assert notes == MIB


def test_a_record_too_large_even_alone_stops_its_stream_naming_it_and_keeps_the_rest(bc_store, warehouse):
    store = bc_store(customers=20, orders=600, products=5)
    [big] = large_orders(1, 8 * MIB, first_id=100_000)
    store.sandbox.load({"orders": [big]})
    warehouse.execute("SET memory_limit = '64MB'")

    with pytest.raises(ExceptionGroup) as failure:
        extract_large(store, warehouse, ("customers", "orders"))

    [error] = failure.value.exceptions
    assert isinstance(error, RecordsTooLarge)
    assert "the record with id 100000 (8.0 MiB of JSON) could not be staged into bigcommerce.orders" in str(error)
    assert "BC_PIPELINE_DUCKDB_MEMORY_LIMIT" in str(error)
    # The customers stream and the order pages committed before the large one are kept.
    assert len(staged(warehouse, "customers")) == 20
    kept = staged(warehouse, "orders")
    assert 250 <= len(kept) < len(store.expected("orders")) and 100_000 not in kept

    warehouse.execute("SET memory_limit = '1GB'")
    extract_large(store, warehouse, ("customers", "orders"))

    assert_matches_store(store, warehouse, streams=("customers", "orders"))


def test_pages_staged_together_keep_the_ones_before_a_record_too_large_to_stage(bc_store, warehouse):
    store = bc_store(customers=300, orders=0, products=5)
    store.sandbox.load({"customers": [{"id": 260, "email": "big@example.org", "notes": "n" * 8 * MIB}]})
    warehouse.execute("SET memory_limit = '64MB'")

    # The first page waits for the second to be staged with it; together they cannot be.
    with pytest.raises(ExceptionGroup) as failure:
        extract_large(store, warehouse, ("customers",))

    [error] = failure.value.exceptions
    assert "the record with id 260 (8.0 MiB of JSON) could not be staged into bigcommerce.customers" in str(error)
    assert sorted(staged(warehouse, "customers")) == list(range(1, 251))
    [(resume_after,)] = warehouse.execute(
        "SELECT resume_after FROM bigcommerce.sync_state WHERE stream = 'customers'").fetchall()
    assert resume_after is not None

    warehouse.execute("SET memory_limit = '1GB'")
    extract_large(store, warehouse, ("customers",))

    assert_matches_store(store, warehouse, streams=("customers",))


def test_an_older_file_of_large_orders_gains_new_columns_a_range_of_rows_at_a_time(bc_store, tmp_path, monkeypatch):
    monkeypatch.setenv("BC_PIPELINE_DUCKDB_MEMORY_LIMIT", "64MB")
    store = bc_store(customers=20, orders=100, products=5)
    store.sandbox.load({"orders": large_orders(12, MIB, first_id=10_000)})
    path = tmp_path / "warehouse.duckdb"
    conn = open_warehouse(path)
    extract_large(store, conn, ("orders",))
    columns = "SELECT id, billing_city, shipping_method FROM bigcommerce.orders ORDER BY id"
    staged_columns = conn.execute(columns).fetchall()
    # As a release before these columns left the file.
    conn.execute("ALTER TABLE bigcommerce.orders DROP COLUMN shipping_method")
    conn.execute("ALTER TABLE bigcommerce.orders DROP COLUMN billing_city")
    conn.close()

    # Parsing every order's JSON in one statement needs more than the 64MB cap.
    conn = open_warehouse(path)

    assert conn.execute(columns).fetchall() == staged_columns
    assert len(staged_columns) == len(store.expected("orders"))
    assert all(city and method for _, city, method in staged_columns)
    conn.close()


def test_a_page_staged_whole_that_runs_out_of_memory_is_named_by_its_size(bc_store, warehouse, monkeypatch):
    # Pages are staged whole up to the whole cap here, far beyond what parsing them needs.
    monkeypatch.setattr(warehouse_module, "STAGING_SLICE_FRACTION", 1)
    store = bc_store(customers=20, orders=0, products=5)
    store.sandbox.load({"orders": large_orders(20, MIB)})

    with pytest.raises(ExceptionGroup) as failure:
        extract_large(store, warehouse, ("customers", "orders"))

    [error] = failure.value.exceptions
    assert isinstance(error, RecordsTooLarge)
    assert "a page of 20.1 MiB of JSON could not be staged into bigcommerce.orders" in str(error)
    assert staged(warehouse, "orders") == {}
