"""Building the Orders Insight records fits under the warehouse's memory cap because orders are built in batches:
gathering every order's line items in one statement needs memory that a large store does not have under the cap."""

import duckdb
import pytest

from bc_pipeline.bigcommerce.extract import extract_streams
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline.ledger import ensure_ledger
from bc_pipeline.transform.contacts import build_contacts
from bc_pipeline.transform.order_insight import build_order_insight
from bc_pipeline_tests.extract.conftest import bc_store, warehouse  # noqa: F401

# Measured on this store: in batches of 500 its orders build under a 64MB cap; at once they need more than 96MB.
# The store is large enough that the cap sits well clear of both: at 3,000 orders batches needed 36-48MB.
CAP = "80MB"


def test_a_cap_too_small_for_all_orders_at_once_still_builds_them_in_batches(bc_store, warehouse):  # noqa: F811
    conn = warehouse
    store = bc_store(customers=1000, orders=12000, products=100)
    ensure_ledger(conn)
    streams = ("customers", "subscribers", "orders", "products")
    extract_streams(store.client(), conn, [STREAMS[name] for name in streams])
    build_contacts(conn, {}, {"customers": True, "subscribers": True})
    sendable = conn.execute(
        "SELECT count(*) FROM bigcommerce.orders WHERE status_id <> 0 AND NOT is_deleted").fetchone()[0]
    conn.execute(f"SET memory_limit = '{CAP}'")

    with pytest.raises(duckdb.OutOfMemoryException):
        build_order_insight(conn, batch_orders=sendable)
    build_order_insight(conn, batch_orders=500)

    built = conn.execute("SELECT count(*) FROM dotmailer.outbound_orders").fetchone()[0]
    rejected = conn.execute("SELECT count(*) FROM dotmailer.rejected_orders").fetchone()[0]
    assert built > 2000 and built + rejected == sendable
