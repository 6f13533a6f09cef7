"""Tombstones of BigCommerce records deleted in the store (from `store/*/deleted` webhooks).

The API never lists a deleted record, so this table is the only trace of it. Transforms that must make a
record leave dotmailer read it; creating it here lets their SQL run before any webhook has arrived.
"""

from __future__ import annotations

import duckdb

DELETED_RECORDS_DDL = """CREATE TABLE IF NOT EXISTS bigcommerce.deleted_records (
    stream VARCHAR, id BIGINT, deleted_at TIMESTAMPTZ)"""


def ensure_deleted_records(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(DELETED_RECORDS_DDL)
