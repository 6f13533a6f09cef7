"""Turn webhook deletes from the inbox into tombstones in staging.

BigCommerce never lists a deleted customer, subscriber or product again, so without the webhook the
pipeline could not tell deleted from unchanged. A tombstone (`bigcommerce.deleted_records`) removes the
staged row and keeps the fact, so the next transform drops the record from dotmailer. Archived orders
stay listed (with `is_deleted`), so their staged row is kept and only the tombstone is added.
"""

from __future__ import annotations

import duckdb

from bc_pipeline.transform.deleted_records import ensure_deleted_records
from bc_pipeline.warehouse import CUSTOMER_ADDRESSES, CUSTOMERS, PRODUCTS, SUBSCRIBERS, transaction
from bc_pipeline.webhooks.inbox import Inbox

# Inbox deletion kind -> (stream, staged tables to remove the row from, with their id column)
_DELETED = {
    "customer": ("customers", ((CUSTOMERS.qualified, "id"), (CUSTOMER_ADDRESSES.qualified, "customer_id"))),
    "subscriber": ("subscribers", ((SUBSCRIBERS.qualified, "id"),)),
    "product": ("products", ((PRODUCTS.qualified, "id"),)),
    "order": ("orders", ()),
}

CURSOR_DDL = "CREATE TABLE IF NOT EXISTS bigcommerce.inbox_cursor (name VARCHAR PRIMARY KEY, seq BIGINT NOT NULL)"


def apply_inbox_deletions(conn: duckdb.DuckDBPyConnection, inbox: Inbox) -> dict[str, int]:
    """Apply every deletion event since the last call; return how many tombstones each stream got."""
    ensure_deleted_records(conn)
    conn.execute(CURSOR_DDL)
    rows = conn.execute("SELECT seq FROM bigcommerce.inbox_cursor WHERE name = 'deletions'").fetchall()
    after = rows[0][0] if rows else 0
    through = inbox.max_seq()
    if through <= after:
        return {}
    applied: dict[str, int] = {}
    with transaction(conn):
        for kind, (stream, tables) in _DELETED.items():
            ids = inbox.deleted_ids(kind, after_seq=after, through_seq=through)
            if not ids:
                continue
            conn.execute(
                """INSERT INTO bigcommerce.deleted_records
                   SELECT ?, id, now() FROM (SELECT DISTINCT unnest(?::BIGINT[]) AS id) new
                   WHERE NOT EXISTS (SELECT 1 FROM bigcommerce.deleted_records d WHERE d.stream = ? AND d.id = new.id)""",
                [stream, ids, stream],
            )
            for table, id_column in tables:
                conn.execute(f"DELETE FROM {table} WHERE {id_column} IN (SELECT unnest(?::BIGINT[]))", [ids])
            applied[stream] = len(set(ids))
        # The cursor moves in the same transaction as the tombstones: a crash repeats the read, never skips it.
        conn.execute("INSERT OR REPLACE INTO bigcommerce.inbox_cursor VALUES ('deletions', ?)", [through])
    return applied
