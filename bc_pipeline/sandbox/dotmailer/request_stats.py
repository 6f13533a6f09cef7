"""Counts of the API requests served, for `GET /_sandbox/stats` (control routes are never counted)."""

from __future__ import annotations

import threading
from collections import Counter


class RequestStats:
    def __init__(self):
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._statuses: Counter[str] = Counter()

    def record(self, route: str, status: int) -> None:
        with self._lock:
            self._requests[route] += 1
            self._statuses[str(status)] += 1

    def as_dict(self, faults_served: Counter[str]) -> dict:
        with self._lock:
            return {
                "total_requests": sum(self._requests.values()),
                "requests": dict(self._requests),
                "status_counts": dict(self._statuses),
                "faults_served": dict(faults_served),
            }
