"""Compact in-memory rows of the store, and the id-ordered table that holds them.

A row keeps only what filtering, sorting and change tracking need; everything else of an API object is rendered on
demand from the generator (seeded by the row's id) or, for loaded and edited records, from `fields`, which override
the generated values. This keeps a store of millions of rows in a few hundred bytes per row.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass, field
from typing import Generic, Iterator, TypeVar


@dataclass(slots=True)
class CustomerRow:
    id: int
    email: str
    first_name: str
    last_name: str
    date_created: int
    date_modified: int
    fields: dict | None = None


@dataclass(slots=True)
class SubscriberRow:
    id: int
    email: str
    first_name: str
    last_name: str
    consents: tuple[str, ...]
    source: str
    order_id: int | None
    date_created: int
    date_modified: int
    fields: dict | None = None


@dataclass(slots=True)
class ProductRow:
    id: int
    name: str
    price_cents: int
    is_visible: bool
    date_created: int
    date_modified: int
    fields: dict | None = None


@dataclass(slots=True)
class OrderRow:
    id: int
    customer_id: int
    status_id: int
    date_created: int
    date_modified: int
    is_deleted: bool = False
    fields: dict | None = None
    # Loaded orders carry their own line items; generated ones derive them from the seed.
    line_items: list[dict] | None = None


@dataclass(slots=True)
class CartRow:
    id: str
    customer_id: int
    email: str
    currency: str
    date_created: int
    date_modified: int
    items: list[tuple[int, int]] = field(default_factory=list)
    abandoned_token: str | None = None


RowT = TypeVar("RowT")


class Table(Generic[RowT]):
    """Rows by id, iterable in ascending id order without re-sorting on every request."""

    def __init__(self) -> None:
        self.rows: dict = {}
        self._ids: list = []

    def __len__(self) -> int:
        return len(self.rows)

    def __contains__(self, row_id) -> bool:
        return row_id in self.rows

    def get(self, row_id) -> RowT | None:
        return self.rows.get(row_id)

    def put(self, row: RowT) -> None:
        if row.id not in self.rows:
            if not self._ids or row.id > self._ids[-1]:
                self._ids.append(row.id)
            else:
                insort(self._ids, row.id)
        self.rows[row.id] = row

    def delete(self, row_id) -> RowT | None:
        row = self.rows.pop(row_id, None)
        if row is not None:
            del self._ids[bisect_left(self._ids, row_id)]
        return row

    def ascending(self, min_id=None) -> Iterator[RowT]:
        start = 0 if min_id is None else bisect_left(self._ids, min_id)
        rows = self.rows
        for position in range(start, len(self._ids)):
            row = rows.get(self._ids[position])
            if row is not None:
                yield row

    def descending(self, max_id=None) -> Iterator[RowT]:
        start = len(self._ids) if max_id is None else bisect_right(self._ids, max_id)
        rows = self.rows
        for position in range(start - 1, -1, -1):
            row = rows.get(self._ids[position])
            if row is not None:
                yield row

    def next_id(self) -> int:
        return (self._ids[-1] + 1) if self._ids else 1
