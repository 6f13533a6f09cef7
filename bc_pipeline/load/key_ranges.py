"""What a load sends, read a range of keys at a time, each range in a query of its own.

A load once streamed its pending records through one cursor. That cursor's transaction stayed open while the load
ran, and while it was open DuckDB kept every version of the ledger rows the load wrote (each accepted import's rows,
inserted, then deleted when it finished) and the hash table of the cursor's join. Both grew with the records sent: at
the benchmark's larger store, 275,000 orders, they were 24 MiB of the Orders load's peak. A range is read whole and
its query ends before the records go on, so the ledger's writes meanwhile need no old version kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb

# The SQL condition that keeps a column's values in the range `key_ranges` yields as parameters `after` and `upto`.
IN_RANGE = "($after::VARCHAR IS NULL OR {column} > $after) AND {column} <= $upto"


def in_range(column: str) -> str:
    return IN_RANGE.format(column=column)


def key_ranges(conn: duckdb.DuckDBPyConnection, table: str, key: str, where: str, params: dict[str, Any],
               size: int) -> Iterator[dict[str, Any]]:
    """The parameters `after` and `upto` of successive ranges `after < key <= upto` that together hold every value
    of the VARCHAR column `key` in the rows of `table` matching `where` (with `params`), about `size` rows each: a
    value shared by many rows puts all of them in one range.

    Each range is worked out by a query of its own when the one before has been used, from the rows as they are then.
    """
    after = None
    while True:
        [(upto,)] = conn.execute(
            f"""SELECT max({key}) FROM (
                    SELECT {key} FROM {table} WHERE ({where}) AND ($after::VARCHAR IS NULL OR {key} > $after)
                    ORDER BY {key} LIMIT {int(size)})""",
            {**params, "after": after},
        ).fetchall()
        if upto is None:
            return
        yield {**params, "after": after, "upto": upto}
        after = upto
