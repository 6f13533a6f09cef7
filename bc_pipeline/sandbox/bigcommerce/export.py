"""The store's true current state in the API's own object shapes, record by record."""

from __future__ import annotations

from typing import Iterator

from . import objects

EXPORT_KINDS = ("customers", "subscribers", "orders", "products", "carts")


def export_records(store, kind: str, base_url: str) -> Iterator[dict]:
    """Deleted records are absent; archived orders are present with `is_deleted` true.

    `base_url` is where order links point: the address the export was asked for at.
    """
    if kind not in EXPORT_KINDS:
        raise KeyError(kind)
    with store.lock:
        rows = (list(store.carts.values()) if kind == "carts"
                else list(store.table(kind[:-1]).ascending()))
    render = {
        "customers": lambda row: objects.customer_v3(store, row, frozenset({"addresses", "formfields", "attributes"})),
        "subscribers": objects.subscriber_v3,
        "products": lambda row: objects.product_v3(store, row),
        "orders": lambda row: _order_with_line_items(store, row, base_url),
        "carts": lambda row: objects.cart_v3(store, row),
    }[kind]
    for row in rows:
        with store.lock:
            record = render(row)
        yield record


def _order_with_line_items(store, row, base_url: str) -> dict:
    line_items = objects.order_line_items(store, row)
    order = objects.order_v2(store, row, base_url, line_items=line_items)
    order["line_items"] = line_items
    return order
