"""Wire formats of BigCommerce values: the dates of v2 and v3, v2 money, and date filters."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Callable

DAY_SECONDS = 86400
FOUR_PLACES = Decimal("0.0001")
HOURS_MINUTES = tuple(f"{minute // 60:02d}:{minute % 60:02d}:" for minute in range(DAY_SECONDS // 60))
SECONDS = tuple(f"{second:02d}" for second in range(60))


class _DayFormat:
    """Whole-second epochs formatted as `render` formats their datetime, rendering each day only once.

    Formatting a datetime costs microseconds and pages hold thousands of dates over a few hundred days. The day's
    own text (with any quirk of `render`, such as strftime's unpadded years) comes from `render` at midnight; only
    the time of day, always HH:MM:SS, is written here.
    """

    def __init__(self, render: Callable[[datetime], str]):
        self._render = render
        self._day_parts = lru_cache(maxsize=4096)(self._render_day)

    def _render_day(self, day: int) -> tuple[str, str]:
        midnight = self._render(datetime.fromtimestamp(day * DAY_SECONDS, timezone.utc))
        # The day's text has no colon, so the first 00:00:00 is the time.
        before, _, after = midnight.partition("00:00:00")
        return before, after

    def __call__(self, epoch: int) -> str:
        day, second = divmod(epoch, DAY_SECONDS)
        before, after = self._day_parts(day)
        return f"{before}{HOURS_MINUTES[second // 60]}{SECONDS[second % 60]}{after}"


_RFC2822 = _DayFormat(lambda moment: format_datetime(moment).replace("-0000", "+0000"))
_ISO_Z = _DayFormat(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
_ISO_OFFSET = _DayFormat(datetime.isoformat)
_ISO_MILLIS_Z = _DayFormat(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.000Z"))


def rfc2822(epoch: int) -> str:
    """v2 dates, always UTC: `Wed, 10 Jan 2018 21:05:30 +0000`."""
    return _RFC2822(epoch)


def iso_z(epoch: int) -> str:
    """v3 customer and subscriber dates: `2018-11-13T21:42:06Z`."""
    return _ISO_Z(epoch)


def iso_offset(epoch: int) -> str:
    """v3 catalog dates: `2018-08-15T14:48:46+00:00`."""
    return _ISO_OFFSET(epoch)


def iso_millis_z(epoch: int) -> str:
    """Cart dates: `2018-09-17T14:27:39.000Z`."""
    return _ISO_MILLIS_Z(epoch)


def money(value: Decimal | float | int | str) -> str:
    """v2 money: a string with four decimals."""
    # A Decimal or an int is exactly the Decimal its text would give, so only other values go through text.
    exact = value if type(value) is Decimal else Decimal(value) if type(value) is int else Decimal(str(value))
    return str(exact.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP))


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
