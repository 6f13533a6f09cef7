"""Keep `dotmailer.suppressions` current from GET /v2/contacts/suppressed-since, read just before contacts are sent.

They only matter to a send, so a sync with nothing to send does not read them; a sync that sends reads them
after the transform has chosen its outbound rows, and withholds whoever was suppressed since the last read.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import duckdb

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.suppressions import iterate_suppressed_since
from bc_pipeline.transform.contacts import outbound_sql
from bc_pipeline.warehouse import lists_as_table, transaction

# Re-read a day back: a suppression dated just before the last read may be listed only later.
OVERLAP = timedelta(days=1)


def refresh_suppressions(conn: duckdb.DuckDBPyConnection, client: DotmailerClient, history_start: date) -> int:
    """Upsert every suppression since the newest one known (or since the history start); return how many came."""
    [(newest,)] = conn.execute("SELECT max(date_removed) FROM dotmailer.suppressions").fetchall()
    since = newest - OVERLAP if newest else datetime.combine(history_start, datetime.min.time(), timezone.utc)
    suppressed = [s for s in iterate_suppressed_since(client, since) if s.email.strip()]
    if suppressed:
        fresh = {
            "email_key": ("VARCHAR", [s.email.strip().lower() for s in suppressed]),
            "email": ("VARCHAR", [s.email.strip() for s in suppressed]),
            "date_removed": ("TIMESTAMPTZ", [s.date_removed for s in suppressed]),
            "reason": ("VARCHAR", [s.reason for s in suppressed]),
        }
        with lists_as_table(conn, "fresh_suppressions", fresh):
            conn.execute(
                """INSERT OR REPLACE INTO dotmailer.suppressions
                   SELECT email_key, arg_max(email, date_removed), max(date_removed), arg_max(reason, date_removed)
                   FROM fresh_suppressions GROUP BY email_key"""
            )
    return len(suppressed)


def withhold_suppressed(conn: duckdb.DuckDBPyConnection, mapping: dict[str, str], books: dict[str, bool]) -> int:
    """Rebuild the outbound rows against the suppressions now known; return how many rows that withheld."""
    # The transform's own rule, run again: the outbound rows predate the read that found the new suppressions.
    [(before,)] = conn.execute("SELECT count(*) FROM dotmailer.outbound_contacts").fetchall()
    with transaction(conn):
        conn.execute(outbound_sql(mapping, books))
    [(after,)] = conn.execute("SELECT count(*) FROM dotmailer.outbound_contacts").fetchall()
    return before - after
