"""The extraction's stream threads share one warehouse, which is detached and attached again every so many staged
records, between two batches: DuckDB then forgets the row groups written so far (see
`warehouse.reattach_warehouse`) and drops the table blocks it had cached.

With row groups of 2,048 rows (`warehouse.ROW_GROUP_SIZE`), what DuckDB knows of them takes a few KB per column of
every 2,048 rows staged, outside its memory limit: extracting the larger benchmark store (300,000 orders of 60
columns, some 700,000 line items) it grew by about 50 MiB, the whole step from the default store's peak to that store's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from bc_pipeline import warehouse
from bc_pipeline.bigcommerce.staged_ids import StagedIds

# Measured on the benchmark's stores, extractor alone: every 5,000 records, the default store peaked at 215 to 223 MiB
# against 234 to 238 MiB, for the same CPU; the larger store at 259 MiB against 290 MiB, in 88 s of CPU against 107 s
# (the checkpoints and key lookups of a freshly attached file touch less of it). Every 1,000 records took a tenth more
# CPU; every 10,000 peaked a few MiB higher at the default store, every 20,000 the same at the larger one.
REATTACH_EVERY_RECORDS = 5_000


class StagingGate:
    """Stream threads run their statements on the warehouse inside `in_use()`, together. Once `staged()` has
    counted `every_records` since the last time, the thread that counted them waits for the statements in progress
    to end, reattaches the warehouse, then lets the threads in again."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, every_records: int = REATTACH_EVERY_RECORDS):
        self._conn = conn
        self._every = every_records
        self._since = 0
        self._users = 0
        self._reattaching = False
        self._changed = threading.Condition()
        self.reattached = 0
        self.staged_ids = StagedIds()

    @contextmanager
    def in_use(self) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: not self._reattaching)
            self._users += 1
        try:
            yield
        finally:
            with self._changed:
                self._users -= 1
                self._changed.notify_all()

    def staged(self, records: int) -> None:
        """Count records committed; called outside `in_use()`."""
        with self._changed:
            self._since += records
            if self._since < self._every or self._reattaching:
                return
            self._reattaching = True
            self._since = 0
            self._changed.wait_for(lambda: self._users == 0)
        try:
            warehouse.reattach_warehouse(self._conn)
            self.reattached += 1
        finally:
            with self._changed:
                self._reattaching = False
                self._changed.notify_all()
