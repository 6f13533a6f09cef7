"""One rate pacer per process, shared by every thread that calls the store.

BigCommerce gives each store a request quota per fixed window and reports, on every response,
how much of it is left (`X-Rate-Limit-Requests-Left`) and when it refills (`-Time-Reset-Ms`).
The quota is shared with every other app on the store, so the headers, not our own counting, are
the truth; our own counting only covers requests that are still in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

HEADER_LEFT = "x-rate-limit-requests-left"
HEADER_RESET_MS = "x-rate-limit-time-reset-ms"
HEADER_QUOTA = "x-rate-limit-requests-quota"
HEADER_WINDOW_MS = "x-rate-limit-time-window-ms"

# Answers from one window put its end at times that differ only by how long each answer took to come back; answers
# from consecutive windows differ by the window's length. So ends within half a window are one window's, or within
# this when the store does not say how long its window is.
SAME_WINDOW_S = 0.5


class QuotaWait(Exception):
    """The quota is spent for longer than the caller chose to wait: it stops here and resumes in another run."""

    def __init__(self, wait_s: float):
        super().__init__(f"the store's request quota refills in {wait_s:.1f} s")
        self.wait_s = wait_s


@dataclass(frozen=True)
class RateLimitHeaders:
    requests_left: int
    reset_ms: int
    quota: int | None
    window_ms: int | None

    @classmethod
    def parse(cls, headers: Mapping[str, str]) -> RateLimitHeaders | None:
        """The rate-limit headers of a response, or None when the platform sent none."""
        lowered = {name.lower(): value for name, value in headers.items()}
        try:
            left = int(lowered[HEADER_LEFT])
            reset_ms = int(lowered[HEADER_RESET_MS])
        except (KeyError, ValueError):
            return None
        return cls(left, max(reset_ms, 0), _optional_int(lowered.get(HEADER_QUOTA)),
                   _optional_int(lowered.get(HEADER_WINDOW_MS)))


def _optional_int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class RatePacer:
    """Waits before a request when the store's quota would run out, and after a 429.

    `acquire()` before each request claims one unit of the quota; `release()` with the response
    headers records what the store says is left. Units claimed by requests still in flight are
    subtracted from what the headers report, so N threads never overdraw the window together.

    With `stop_at_wait_s` set, a wait at least that long raises `QuotaWait` instead, once this pacer has let half
    a window's quota through: a caller then has that much read to do something with (a sync loads it) while the
    quota refills. A run that starts in a window spent by an earlier one waits for it, or it would stop after a
    request or two, each time.
    """

    def __init__(
        self,
        *,
        reserve: int = 0,
        reset_margin_s: float = 0.05,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._reserve = reserve
        self._reset_margin_s = reset_margin_s
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._answered = threading.Condition(self._lock)
        # Until the first answer tells us the quota, one request goes out at a time.
        self._probing = True
        self._left: int | None = None
        self._quota: int | None = None
        self._reset_at = 0.0
        self._window_s: float | None = None
        self._blocked_until = 0.0
        self._in_flight = 0
        self._headerless_429s = 0
        self.waited_s = 0.0
        self.stop_at_wait_s: float | None = None
        self._granted = 0

    def acquire(self) -> None:
        """Block until a request may be sent without exceeding the quota, then claim a unit."""
        while True:
            with self._lock:
                if self._probing and self._in_flight:
                    self._answered.wait(timeout=1.0)
                    continue
                now = self._clock()
                wait = self._blocked_until - now
                if wait <= 0 and self._left is not None and now >= self._reset_at:
                    # The window has refilled; requests still in flight may land in the new one.
                    self._left = self._quota - self._in_flight
                if wait <= 0 and (self._left is None or self._left > self._reserve):
                    if self._left is not None:
                        self._left -= 1
                    self._in_flight += 1
                    self._granted += 1
                    return
                if wait <= 0:
                    wait = self._reset_at - now
                wait = max(wait, 0.001)
                if (self.stop_at_wait_s is not None and wait >= self.stop_at_wait_s
                        and self._granted and self._granted >= (self._quota or 0) / 2):
                    raise QuotaWait(wait)
                self.waited_s += wait
            self._sleep(wait)

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds`: an earlier run spent the window, which refills then."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def release(self, headers: Mapping[str, str] | None, *, rate_limited: bool = False) -> None:
        """Record a finished request: its rate-limit headers and whether it was refused with 429."""
        limits = RateLimitHeaders.parse(headers) if headers is not None else None
        with self._lock:
            self._in_flight -= 1
            self._probing = False
            self._answered.notify_all()
            now = self._clock()
            if limits is not None:
                reset_at = now + limits.reset_ms / 1000.0 + self._reset_margin_s
                if limits.quota is not None:
                    self._quota = limits.quota
                elif self._quota is None:
                    self._quota = limits.requests_left
                if limits.window_ms:
                    self._window_s = limits.window_ms / 1000.0
                tolerance = self._window_s / 2 if self._window_s else SAME_WINDOW_S
                # Responses overtake each other. One from a window that has ended, read after one from the window
                # now running, would bring the refill forward to the old window's end and overdraw the new one.
                if self._left is None or reset_at >= self._reset_at - tolerance:
                    left = limits.requests_left - self._in_flight
                    same_window = self._left is not None and abs(reset_at - self._reset_at) < tolerance
                    # Within one window the smallest count is the newest.
                    self._left = min(self._left, left) if same_window else left
                    self._reset_at = reset_at
            if rate_limited:
                if limits is not None:
                    self._left = 0
                    self._blocked_until = max(self._blocked_until, self._reset_at)
                else:
                    # No headers on a 429 means platform load: back off, longer each time.
                    wait = min(self._backoff_cap_s, self._backoff_base_s * 2**self._headerless_429s)
                    self._headerless_429s += 1
                    self._blocked_until = max(self._blocked_until, now + wait)
            else:
                self._headerless_429s = 0
