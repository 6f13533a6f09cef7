"""What a BigCommerce webhook callback carries, and how to read one from a request body.

Callbacks are "light": `{"scope", "hash", "created_at", "store_id", "producer", "data": {"type", "id", ...}}`.
The pipeline re-fetches the record by id; the inbox only needs enough to know what changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

CART_ABANDONED = "store/cart/abandoned"
CART_CONVERTED = "store/cart/converted"
CART_DELETED = "store/cart/deleted"

DeletionKind = Literal["customer", "subscriber", "product", "order"]

# Deletes reach us only by webhook (the list endpoints simply stop returning the row). Orders are archived,
# not deleted, and archiving is the only removal the API offers for them.
DELETION_SCOPES: dict[str, str] = {
    "customer": "store/customer/deleted",
    "subscriber": "store/subscriber/deleted",
    "product": "store/product/deleted",
    "order": "store/order/archived",
}

# Scopes the inbox derives state from: without `data.id` such an event is useless, so it is refused up front
# rather than stored and silently ignored later.
_SCOPES_NEEDING_INTEGER_ID = frozenset(DELETION_SCOPES.values())
_SCOPES_NEEDING_ID = _SCOPES_NEEDING_INTEGER_ID | {CART_ABANDONED, CART_CONVERTED, CART_DELETED}


class InvalidCallback(ValueError):
    """The body is not a BigCommerce webhook callback; the message says what is wrong."""


@dataclass(frozen=True, kw_only=True)
class WebhookEvent:
    scope: str
    hash: str
    data_type: str | None
    data_id: str | None
    data_token: str | None
    created_at: datetime | None
    received_at: datetime
    raw_json: str


@dataclass(frozen=True, kw_only=True)
class InboxEvent(WebhookEvent):
    seq: int


def parse_callback(body: bytes, received_at: datetime) -> WebhookEvent:
    """Read a callback body into a `WebhookEvent`, or raise `InvalidCallback` naming what is missing or wrong."""
    try:
        raw_json = body.decode("utf-8")
        payload = json.loads(raw_json)
    except UnicodeDecodeError as exc:
        raise InvalidCallback("body is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise InvalidCallback(f"body is not valid JSON ({exc.msg} at char {exc.pos})") from exc
    if not isinstance(payload, dict):
        raise InvalidCallback("body must be a JSON object")

    missing = [field for field in ("scope", "hash") if payload.get(field) in (None, "")]
    if missing:
        raise InvalidCallback(f"missing required field(s): {', '.join(missing)}")
    scope = _string_field(payload, "scope")
    event_hash = _string_field(payload, "hash")

    data = payload.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InvalidCallback("field 'data' must be a JSON object")

    return WebhookEvent(
        scope=scope,
        hash=event_hash,
        data_type=_optional_string(data, "type", "data.type"),
        data_id=_data_id(scope, data),
        data_token=_optional_string(data, "token", "data.token"),
        created_at=_created_at(payload),
        received_at=received_at,
        raw_json=raw_json,
    )


def _string_field(payload: dict, field: str) -> str:
    value = payload[field]
    if not isinstance(value, str):
        raise InvalidCallback(f"field '{field}' must be a string")
    return value


def _optional_string(data: dict, key: str, name: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidCallback(f"field '{name}' must be a string")
    return value


def _data_id(scope: str, data: dict) -> str | None:
    value = data.get("id")
    if value is None:
        if scope in _SCOPES_NEEDING_ID:
            raise InvalidCallback(f"missing required field: data.id (scope {scope})")
        return None
    is_integer = isinstance(value, int) and not isinstance(value, bool)
    if scope in _SCOPES_NEEDING_INTEGER_ID and not is_integer:
        raise InvalidCallback(f"field 'data.id' must be an integer for scope {scope}")
    if not is_integer and not isinstance(value, str):
        raise InvalidCallback("field 'data.id' must be an integer or a string")
    return str(value)


def _created_at(payload: dict) -> datetime | None:
    value = payload.get("created_at")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidCallback("field 'created_at' must be a unix timestamp (seconds)")
    try:
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidCallback("field 'created_at' is out of range for a unix timestamp") from exc
