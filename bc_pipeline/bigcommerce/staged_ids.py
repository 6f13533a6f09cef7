"""The ids an extraction has staged into tables that held no rows when it started, so that a batch of records new to
their table is inserted without the join that looks for stored versions of them.

That join reads the key of every row group its zone maps cannot rule out. The two ends of the orders scan stage into
the same row groups, so each spans most of the id range and none is ruled out: extracting 300,000 orders, every batch
read one block per row group, some 40 MiB by the end, which DuckDB kept cached. Side by side, extractor alone: at the
larger benchmark store (300,000 orders) 237 and 238 MiB against 264 and 265 MiB; at the default store (30,000) 203 to
214 MiB against 207 to 220, in the same CPU at both.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

import duckdb

from bc_pipeline import warehouse

# Ids are tracked as bits: 8 MiB at most. A table whose ids go beyond is staged with the join.
MAX_TRACKED_ID = 2**26


class StagedIds:
    """Per staging table keyed by `id`, the ids staged since `track`, if the table was empty then; the stream threads
    of one extraction share it. A table that held rows, or an id beyond MAX_TRACKED_ID, leaves the table untracked,
    and `all_new` is then never true for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bits: dict[str, bytearray | None] = {}

    def track(self, cur: duckdb.DuckDBPyConnection, table: warehouse.StagingTable) -> None:
        """Start tracking `table` if it holds no rows; the first stream to call it for a table decides."""
        with self._lock:
            if table.name not in self._bits:
                empty = table.key == ("id",) and not warehouse.run_sql(cur, f"SELECT 1 FROM {table.qualified} LIMIT 1")
                self._bits[table.name] = bytearray() if empty else None

    def all_new(self, table: warehouse.StagingTable, ids: Collection[int]) -> bool:
        """Whether none of `ids` is stored in `table`: only ever true for a tracked table."""
        with self._lock:
            bits = self._bits.get(table.name)
            if bits is None or not ids:
                return False
            return not any(i >> 3 < len(bits) and bits[i >> 3] >> (i & 7) & 1 for i in ids)

    def add(self, table: warehouse.StagingTable, ids: Collection[int]) -> None:
        """Count `ids` as stored in `table`, once their transaction has committed."""
        with self._lock:
            bits = self._bits.get(table.name)
            if bits is None or not ids:
                return
            if min(ids) < 0 or max(ids) >= MAX_TRACKED_ID:
                self._bits[table.name] = None
                return
            bits.extend(bytes(max(0, (max(ids) >> 3) + 1 - len(bits))))
            for i in ids:
                bits[i >> 3] |= 1 << (i & 7)

    def forget(self, table: warehouse.StagingTable) -> None:
        """Stop tracking `table`: its batches take the join from now on."""
        with self._lock:
            self._bits[table.name] = None
