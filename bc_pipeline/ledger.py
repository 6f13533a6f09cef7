"""The `dotmailer` schema's state: what dotmailer holds as far as we know, and every import in flight.

These tables are the memory that makes loads idempotent and crash-safe: a row is marked sent only
after dotmailer reports its import finished, and an accepted import is recorded before it is polled,
so a rerun resumes it instead of sending it again.
"""

from __future__ import annotations

import duckdb

from bc_pipeline.warehouse import transaction

# What a load that runs out of memory leaves behind, as its error tells the store owner.
ACCEPTED_IMPORTS_KEPT = "imports dotmailer accepted are resumed by the next sync, not sent again."

LEDGER_DDL = (
    "CREATE SCHEMA IF NOT EXISTS dotmailer",
    # Read from GET /v2/contacts/suppressed-since every sync; never re-subscribe these.
    """CREATE TABLE IF NOT EXISTS dotmailer.suppressions (
        email_key VARCHAR PRIMARY KEY, email VARCHAR, date_removed TIMESTAMPTZ, reason VARCHAR)""",
    # Contacts as last sent to each address book role (customers / subscribers).
    """CREATE TABLE IF NOT EXISTS dotmailer.book_members (
        book VARCHAR, email_key VARCHAR, email VARCHAR, contact_id BIGINT, sent_hash VARCHAR,
        sent_at TIMESTAMPTZ, import_id VARCHAR, PRIMARY KEY (book, email_key))""",
    # dotmailer contact ids, whichever book brought them; enrolment needs them.
    """CREATE TABLE IF NOT EXISTS dotmailer.contact_ids (
        email_key VARCHAR PRIMARY KEY, contact_id BIGINT NOT NULL, first_seen TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS dotmailer.contact_imports (
        import_id VARCHAR PRIMARY KEY, book VARCHAR, accepted_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
        status VARCHAR, contacts INTEGER)""",
    # No primary key, for the reason given in `drop_primary_key`.
    """CREATE TABLE IF NOT EXISTS dotmailer.contact_import_rows (
        import_id VARCHAR, book VARCHAR, email_key VARCHAR, email VARCHAR, hash VARCHAR)""",
    # The last failure per contact and book; cleared when a later send succeeds.
    """CREATE TABLE IF NOT EXISTS dotmailer.load_failures (
        book VARCHAR, email_key VARCHAR, email VARCHAR, hash VARCHAR, failure_code VARCHAR, reason VARCHAR,
        import_id VARCHAR, failed_at TIMESTAMPTZ, PRIMARY KEY (book, email_key))""",
    # Files from before an import's rows went when it finished hold those of every import ever finished.
    """DELETE FROM dotmailer.contact_import_rows WHERE import_id IN (
           SELECT import_id FROM dotmailer.contact_imports WHERE finished_at IS NOT NULL)""",
)


def ensure_ledger(conn: duckdb.DuckDBPyConnection) -> None:
    for statement in LEDGER_DDL:
        conn.execute(statement)
    drop_primary_key(conn, "dotmailer", "contact_import_rows")


def drop_primary_key(conn: duckdb.DuckDBPyConnection, schema: str, table: str) -> None:
    """Rebuild `schema.table` without its primary key, if it has one (files from before the key was dropped).

    The import rows tables hold an import's rows only while it is in flight, and their rows are unique by
    construction. Loads once streamed what they sent through a cursor whose transaction stayed open (see
    `load/key_ranges.py`), and while it was open a key's index kept an entry for every row any import wrote, deleted or
    not: at the benchmark's larger store the Orders load's indexes held 30 MB of DuckDB's memory at the end against 13
    MB without this one, and under a 96MB cap the load ran out of memory with it and finished without it. A key
    would guard nothing the construction does not. DuckDB cannot drop a key in place."""
    [(keyed,)] = conn.execute(
        """SELECT count(*) FROM duckdb_constraints()
           WHERE schema_name = ? AND table_name = ? AND constraint_type = 'PRIMARY KEY'""",
        [schema, table],
    ).fetchall()
    if not keyed:
        return
    with transaction(conn):
        conn.execute(f"CREATE TABLE {schema}.{table}_unkeyed AS SELECT * FROM {schema}.{table}")
        conn.execute(f"DROP TABLE {schema}.{table}")
        conn.execute(f"ALTER TABLE {schema}.{table}_unkeyed RENAME TO {table}")
