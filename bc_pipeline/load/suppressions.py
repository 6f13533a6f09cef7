"""Keep `dotmailer.suppressions` current from GET /v2/contacts/suppressed-since."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import duckdb
import pandas as pd

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.suppressions import iterate_suppressed_since

# Re-read a day back: a suppression dated just before the last read may be listed only later.
OVERLAP = timedelta(days=1)


def refresh_suppressions(conn: duckdb.DuckDBPyConnection, client: DotmailerClient, history_start: date) -> int:
    """Upsert every suppression since the newest one known (or since the history start); return how many came."""
    # fetchall closes the result: DuckDB refuses to register a frame while a result is still open.
    [(newest,)] = conn.execute("SELECT max(date_removed) FROM dotmailer.suppressions").fetchall()
    since = newest - OVERLAP if newest else datetime.combine(history_start, datetime.min.time(), timezone.utc)
    rows = [
        (s.email.strip().lower(), s.email.strip(), s.date_removed, s.reason)
        for s in iterate_suppressed_since(client, since)
        if s.email.strip()
    ]
    if rows:
        fresh = pd.DataFrame(rows, columns=["email_key", "email", "date_removed", "reason"])
        conn.register("fresh_suppressions", fresh)
        conn.execute(
            """INSERT OR REPLACE INTO dotmailer.suppressions
               SELECT email_key, arg_max(email, date_removed), max(date_removed), arg_max(reason, date_removed)
               FROM fresh_suppressions GROUP BY email_key"""
        )
        conn.unregister("fresh_suppressions")
    return len(rows)
