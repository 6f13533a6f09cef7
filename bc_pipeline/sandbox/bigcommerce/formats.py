"""Wire formats of BigCommerce values: the dates of v2 and v3, v2 money, and date filters."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from email.utils import format_datetime, parsedate_to_datetime


def rfc2822(epoch: int) -> str:
    """v2 dates, always UTC: `Wed, 10 Jan 2018 21:05:30 +0000`."""
    return format_datetime(datetime.fromtimestamp(epoch, timezone.utc)).replace("-0000", "+0000")


def iso_z(epoch: int) -> str:
    """v3 customer and subscriber dates: `2018-11-13T21:42:06Z`."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_offset(epoch: int) -> str:
    """v3 catalog dates: `2018-08-15T14:48:46+00:00`."""
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def iso_millis_z(epoch: int) -> str:
    """Cart dates: `2018-09-17T14:27:39.000Z`."""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def money(value: Decimal | float | int | str) -> str:
    """v2 money: a string with four decimals."""
    return str(Decimal(str(value)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def cents(value: int) -> Decimal:
    return Decimal(value) / 100


def is_date_only(text: str) -> bool:
    return len(text.strip()) == 10 and text.strip()[4] == "-"


def parse_filter_date(text: str) -> int:
    """A date filter value as epoch seconds: unix seconds, ISO 8601 (date or date-time) or RFC 2822.

    Values without an offset are UTC, as the API's own dates are.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    if text[:1].isalpha():
        parsed = parsedate_to_datetime(text)
    else:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())
