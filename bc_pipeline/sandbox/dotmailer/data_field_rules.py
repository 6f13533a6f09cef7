"""Dotdigital's rules for contact data fields: valid names and values that fit a field's type."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

FIELD_TYPES = ("String", "Numeric", "Date", "Boolean")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
RESERVED_NAMES = frozenset(
    {
        "account", "campaign", "campaignid", "contact", "contact_api_id", "contactid", "email", "hcontactid",
        "hemail", "hemail256", "id", "messagecontent", "mobilenumberid", "notes", "unsubscribed",
        "uniquecontactid",
    }
)
MAX_STRING_LENGTH = 255
_TRUE_WORDS = {"true", "yes", "1"}
_FALSE_WORDS = {"false", "no", "0"}


class InvalidValue(ValueError):
    """A value that does not fit its field's type; the import reports it as a failure, never a 500."""


def name_problem(name: Any) -> str | None:
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        return "ERROR_DATAFIELD_NAME_INVALID"
    if name.casefold() in RESERVED_NAMES:
        return "ERROR_DATAFIELD_NAME_RESERVED"
    return None


def coerce(field_type: str, value: Any) -> Any:
    """The value as the account stores it, or InvalidValue. None passes through: it clears the field."""
    if value is None:
        return None
    if field_type == "String":
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise InvalidValue(f"expected text, got {type(value).__name__}")
        text = str(value)
        if len(text) > MAX_STRING_LENGTH:
            raise InvalidValue(f"text longer than {MAX_STRING_LENGTH} characters")
        return text
    if field_type == "Numeric":
        return _numeric(value)
    if field_type == "Date":
        return _date(value)
    if field_type == "Boolean":
        return _boolean(value)
    raise InvalidValue(f"unknown field type {field_type}")


def _numeric(value: Any) -> int | float:
    if isinstance(value, bool):
        raise InvalidValue("expected a number, got a boolean")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise InvalidValue(f"expected a number, got {value!r}") from None
        return int(number) if number.is_integer() and "." not in value else number
    raise InvalidValue(f"expected a number, got {type(value).__name__}")


def _date(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidValue(f"expected an ISO 8601 date, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidValue(f"expected an ISO 8601 date, got {value!r}") from None
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().casefold() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().casefold() in _TRUE_WORDS
    raise InvalidValue(f"expected a boolean, got {value!r}")

