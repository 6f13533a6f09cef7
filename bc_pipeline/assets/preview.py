"""A few rows of a table as markdown, for materialization metadata in the Dagster UI."""

from __future__ import annotations

import duckdb


def table_preview(conn: duckdb.DuckDBPyConnection, table: str, rows: int = 5, width: int = 40) -> str:
    # The raw JSON would swamp the preview; long text is cut so the table stays readable.
    frame = conn.execute(f"SELECT * FROM {table} LIMIT {int(rows)}").df().drop(columns=["raw"], errors="ignore")
    if frame.empty:
        return "_no rows_"
    return frame.map(lambda v: v[:width] + "…" if isinstance(v, str) and len(v) > width else v).to_markdown(index=False)
