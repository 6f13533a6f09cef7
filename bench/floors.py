"""What no extractor can beat: the fewest requests the API allows, and the time they must take."""

from __future__ import annotations

import math
from collections.abc import Mapping

MAX_PAGE_SIZE = 250


def minimum_requests(rows_by_stream: Mapping[str, int]) -> int:
    """Σ ceil(rows / 250) per stream; an empty stream still costs the one request that finds it empty."""
    return sum(max(1, math.ceil(rows / MAX_PAGE_SIZE)) for rows in rows_by_stream.values())


def quota_floor_s(requests: int, requests_per_second: float) -> float:
    """Requests ÷ the quota's rate: the wall time a quota-bound sync cannot go below."""
    return requests / requests_per_second


def latency_floor_s(rows_by_stream: Mapping[str, int], latency_ms: int) -> float:
    """The longest stream's pages one after another: the floor of a scan that pages each stream in order, since
    each page needs the previous page's cursor. A scan that splits a stream's id range (ours reads orders from both
    ends at once) can go below it."""
    longest = max(max(1, math.ceil(rows / MAX_PAGE_SIZE)) for rows in rows_by_stream.values())
    return longest * latency_ms / 1000
