"""The sandboxes' notion of "now", which tests and the control API can move forward."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone


class SandboxClock:
    """Wall-clock UTC time plus an offset that only grows.

    Record timestamps (date_modified, dateRemoved, abandoned-cart ages) come from here, so a test can
    make an hour pass without waiting for it. Rate-limit windows use real monotonic time, since the
    pipeline really waits on them.
    """

    def __init__(self, start: datetime | None = None):
        self._lock = threading.Lock()
        real_now = datetime.now(timezone.utc)
        self._offset = (start - real_now) if start is not None else timedelta(0)

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(timezone.utc).replace(microsecond=0) + self._offset

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()
