"""Query results as markdown tables, for materialization metadata in the Dagster UI."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
from tabulate import tabulate


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    return tabulate(rows, headers=columns, tablefmt="pipe")


def table_preview(conn: duckdb.DuckDBPyConnection, table: str, rows: int = 5, width: int = 40) -> str:
    result = conn.execute(f"SELECT * FROM {table} LIMIT {int(rows)}")
    columns = [column[0] for column in result.description]
    records = result.fetchall()
    if not records:
        return "_no rows_"
    # The raw JSON would swamp the preview; long text is cut so the table stays readable.
    shown = [index for index, column in enumerate(columns) if column != "raw"]
    return markdown_table(
        [columns[index] for index in shown],
        [[_cut(record[index], width) for index in shown] for record in records],
    )


def _cut(value: object, width: int) -> object:
    return value[:width] + "…" if isinstance(value, str) and len(value) > width else value
