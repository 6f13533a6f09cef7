"""The Insight loads' memory in schema `dotmailer`: what each collection holds, imports in flight, failures.

A record is written to `insight_records` only after dotmailer reports its import finished; an accepted import
and the hashes it carried are written before it is polled, so a rerun resumes it instead of sending it again.
"""

from __future__ import annotations

import duckdb

from bc_pipeline.ledger import drop_primary_key

INSIGHT_LEDGER_DDL = (
    "CREATE SCHEMA IF NOT EXISTS dotmailer",
    # Records as dotmailer holds them; contact_email names the owner in contact-scoped collections.
    """CREATE TABLE IF NOT EXISTS dotmailer.insight_records (
        collection VARCHAR, key VARCHAR, contact_email VARCHAR, sent_hash VARCHAR, sent_at TIMESTAMPTZ,
        import_id VARCHAR, PRIMARY KEY (collection, key))""",
    """CREATE TABLE IF NOT EXISTS dotmailer.insight_imports (
        import_id VARCHAR PRIMARY KEY, collection VARCHAR, accepted_at TIMESTAMPTZ, finished_at TIMESTAMPTZ,
        status VARCHAR, records INTEGER)""",
    # No primary key, for the reason given in `drop_primary_key`.
    """CREATE TABLE IF NOT EXISTS dotmailer.insight_import_rows (
        import_id VARCHAR, collection VARCHAR, key VARCHAR, contact_email VARCHAR, hash VARCHAR)""",
    # The last failure per record; cleared when a later send succeeds or the record leaves the collection.
    """CREATE TABLE IF NOT EXISTS dotmailer.insight_failures (
        collection VARCHAR, key VARCHAR, contact_email VARCHAR, reason VARCHAR, detail VARCHAR, hash VARCHAR,
        import_id VARCHAR, failed_at TIMESTAMPTZ, PRIMARY KEY (collection, key))""",
    # The records one load is about to send; in the file, not a temp table, which DuckDB would hold in memory.
    """CREATE TABLE IF NOT EXISTS dotmailer.pending_insight (
        collection VARCHAR, key VARCHAR, contact_email VARCHAR, hash VARCHAR)""",
    # Files from before the loads read each record's JSON from its outbound table as they send it.
    "ALTER TABLE dotmailer.pending_insight DROP COLUMN IF EXISTS json",
    # Files from before an import's rows went when it finished hold those of every import ever finished.
    """DELETE FROM dotmailer.insight_import_rows WHERE import_id IN (
           SELECT import_id FROM dotmailer.insight_imports WHERE finished_at IS NOT NULL)""",
)


def ensure_insight_ledger(conn: duckdb.DuckDBPyConnection) -> None:
    for statement in INSIGHT_LEDGER_DDL:
        conn.execute(statement)
    drop_primary_key(conn, "dotmailer", "insight_import_rows")
