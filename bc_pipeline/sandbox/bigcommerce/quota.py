"""The store's request quota: N requests per fixed window of real (monotonic) time."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class QuotaState:
    allowed: bool
    left: int
    quota: int
    reset_ms: int
    window_ms: int

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Requests-Left": str(self.left),
            "X-Rate-Limit-Requests-Quota": str(self.quota),
            "X-Rate-Limit-Time-Reset-Ms": str(self.reset_ms),
            "X-Rate-Limit-Time-Window-Ms": str(self.window_ms),
        }


class Quota:
    """A window opens on the first request after the previous one closed, as BigCommerce's does."""

    def __init__(self, quota: int, window_ms: int):
        self.quota = quota
        self.window_ms = window_ms
        self._lock = threading.Lock()
        self._window_start = 0.0
        self._used = 0

    def _reset_ms(self, now: float) -> int:
        # Rounded up: a client that waits exactly the advertised time must find a fresh window.
        return max(0, math.ceil(self.window_ms - (now - self._window_start) * 1000))

    def take(self) -> QuotaState:
        with self._lock:
            now = time.monotonic()
            if self._used == 0 or self._reset_ms(now) == 0:
                self._window_start, self._used = now, 0
            allowed = self._used < self.quota
            if allowed:
                self._used += 1
            return QuotaState(allowed, self.quota - self._used, self.quota, self._reset_ms(now), self.window_ms)
