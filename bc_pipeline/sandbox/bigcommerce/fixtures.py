"""Loading exact records (JSON fixtures in the API's own shapes) into the store.

Ids are kept; fields a fixture leaves out get the sandbox's defaults; dates may be v3 ISO 8601 or v2 RFC 2822.
"""

from __future__ import annotations

from .formats import parse_filter_date
from .rows import CustomerRow, OrderRow, ProductRow, SubscriberRow


def _date(record: dict, name: str, default: int) -> int:
    value = record.get(name)
    return parse_filter_date(str(value)) if value not in (None, "") else default


# Row attributes are the truth the API renders from; a fixture's copies of them must not shadow later edits.
ROW_KEYS = {"id", "email", "first_name", "last_name", "date_created", "date_modified", "name", "is_visible",
            "customer_id", "status_id", "status", "is_deleted", "line_items"}


def _extra_fields(record: dict) -> dict:
    return {key: value for key, value in record.items() if key not in ROW_KEYS}


def _id(record: dict, table) -> int:
    return int(record["id"]) if record.get("id") is not None else table.next_id()


def _customer(store, record: dict, now: int) -> CustomerRow:
    customer_id = _id(record, store.customers)
    fields = _extra_fields(record)
    fields.setdefault("addresses", [])
    fields.setdefault("attributes", [])
    fields.setdefault("form_fields", [])
    fields["addresses"] = [_address(customer_id, index, address) for index, address in enumerate(fields["addresses"])]
    created = _date(record, "date_created", now)
    return CustomerRow(customer_id, str(record.get("email", "")), str(record.get("first_name", "")),
                       str(record.get("last_name", "")), created, _date(record, "date_modified", created), fields)


def _address(customer_id: int, index: int, address: dict) -> dict:
    defaults = {"id": customer_id * 10 + index, "customer_id": customer_id, "first_name": "-", "last_name": "-",
                "company": "", "address1": "", "address2": "", "city": "", "state_or_province": "",
                "postal_code": "", "country": "", "country_code": "US", "phone": "", "address_type": "residential",
                "form_fields": []}
    return {**defaults, **address, "customer_id": customer_id}


def _subscriber(store, record: dict, now: int) -> SubscriberRow:
    created = _date(record, "date_created", now)
    return SubscriberRow(
        _id(record, store.subscribers), str(record.get("email", "")), str(record.get("first_name", "")),
        str(record.get("last_name", "")), tuple(record.get("consents", ())), str(record.get("source", "custom")),
        record.get("order_id"), created, _date(record, "date_modified", created))


def _product(store, record: dict, now: int) -> ProductRow:
    product_id = _id(record, store.products)
    created = _date(record, "date_created", now)
    fields = _extra_fields(record)
    for collection in ("images", "variants", "custom_fields"):
        fields.setdefault(collection, [])
    return ProductRow(product_id, str(record.get("name", f"Product {product_id}")),
                      int(round(float(record.get("price", 0)) * 100)), bool(record.get("is_visible", True)),
                      created, _date(record, "date_modified", created), fields)


def _order(store, record: dict, now: int) -> OrderRow:
    created = _date(record, "date_created", now)
    fields = _extra_fields(record)
    return OrderRow(_id(record, store.orders), int(record.get("customer_id", 0)), int(record.get("status_id", 11)),
                    created, _date(record, "date_modified", created), bool(record.get("is_deleted", False)),
                    fields, list(record.get("line_items", [])))


LOADERS = {"customers": ("customer", _customer), "subscribers": ("subscriber", _subscriber),
           "products": ("product", _product), "orders": ("order", _order)}


def load_fixture(store, fixture: dict) -> dict[str, int]:
    """Adds (or replaces, by id) the fixture's records; returns how many of each kind were loaded."""
    unknown = set(fixture) - set(LOADERS)
    if unknown:
        raise ValueError(f"unknown fixture keys: {', '.join(sorted(unknown))}")
    loaded = {}
    now = store.now()
    for key, (kind, build) in LOADERS.items():
        records = fixture.get(key, [])
        for record in records:
            store.add(kind, build(store, record, now))
        loaded[key] = len(records)
    return loaded
