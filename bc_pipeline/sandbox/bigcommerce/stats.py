"""Counters the control API reports: requests per route, responses per status, faults served."""

from __future__ import annotations

import threading
from collections import Counter


class RequestStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: Counter = Counter()
        self._statuses: Counter = Counter()
        self._faults: Counter = Counter()

    def record(self, route: str, status: int | None) -> None:
        """`status` is None when no response was sent (a reset connection)."""
        with self._lock:
            self._routes[route] += 1
            if status is not None:
                self._statuses[str(status)] += 1

    def record_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "total_requests": sum(self._routes.values()),
                "requests": dict(self._routes),
                "status_counts": dict(self._statuses),
                "faults_served": dict(self._faults),
            }
