"""The per-minute API call tier: past N calls in a rolling window of real time, 429 with x-ratelimit-* headers."""

from __future__ import annotations

import math
import threading
import time
from collections import deque


class RequestQuota:
    def __init__(self, limit: int | None, window_s: float):
        self.limit = limit
        self.window_s = window_s
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self) -> int | None:
        """None when the call may go ahead, else the whole seconds until the window frees a call."""
        if self.limit is None:
            return None
        now = time.monotonic()
        with self._lock:
            while self._calls and self._calls[0] <= now - self.window_s:
                self._calls.popleft()
            if len(self._calls) >= self.limit:
                return max(1, math.ceil(self._calls[0] + self.window_s - now))
            self._calls.append(now)
            return None

    def headers(self, reset_s: int) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit if self.limit is not None else 0),
            "x-ratelimit-reset": str(reset_s),
            "x-ratelimit-scope": "account",
            "retry-after": str(reset_s),
        }
