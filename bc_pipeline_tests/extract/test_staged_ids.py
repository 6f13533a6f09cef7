"""A first extraction knows which records are new to their table; a record staged behind its back is still
replaced, not refused."""

from __future__ import annotations

import json

from bc_pipeline.bigcommerce.extract import extract_stream
from bc_pipeline.bigcommerce.staged_ids import MAX_TRACKED_ID, StagedIds
from bc_pipeline.bigcommerce.staging_gate import StagingGate
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline.warehouse import CUSTOMERS, ORDERS, stage_pages
from bc_pipeline_tests.extract.conftest import assert_matches_store


def test_only_ids_staged_since_an_empty_table_was_tracked_count_as_stored(warehouse):
    staged_ids = StagedIds()
    with warehouse.cursor() as cur:
        staged_ids.track(cur, ORDERS)
        cur.execute("INSERT INTO bigcommerce.customers (id, raw, staged_at) VALUES (1, '{}', now())")
        staged_ids.track(cur, CUSTOMERS)

    staged_ids.add(ORDERS, [3, 700])

    assert staged_ids.all_new(ORDERS, [1, 2, 699, 701, 10_000])
    assert not staged_ids.all_new(ORDERS, [1, 700])
    # A table that held rows is never taken for new, nor one whose ids went beyond what is tracked.
    assert not staged_ids.all_new(CUSTOMERS, [2])
    staged_ids.add(ORDERS, [MAX_TRACKED_ID])
    assert not staged_ids.all_new(ORDERS, [1])


def test_a_record_staged_after_its_table_was_tracked_is_replaced_by_the_extraction(bc_store, warehouse):
    store = bc_store(orders=600)
    client = store.client()
    gate = StagingGate(warehouse)
    listed = min(store.expected("orders").values(), key=lambda order: order["id"])
    with warehouse.cursor() as cur:
        gate.staged_ids.track(cur, ORDERS)
        older = {**listed, "date_modified": "Mon, 01 Jan 2001 00:00:00 +0000", "line_items": []}
        stage_pages(cur, ORDERS, (), [json.dumps([older]).encode()], "$[*]")

    store.settle()
    extract_stream(client, warehouse, STREAMS["orders"], gate=gate)

    assert_matches_store(store, warehouse, streams=("orders",))
