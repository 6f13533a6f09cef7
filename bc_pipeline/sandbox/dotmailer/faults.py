"""Faults injected on demand, reproducible by seed: each kind fires at its rate until its count is spent."""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

FAULT_KINDS = ("import_rejected", "import_failed", "http_500", "rate_limit")


@dataclass
class _Fault:
    rate: float
    remaining: int | None


class FaultInjector:
    def __init__(self, seed: int):
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._faults: dict[str, _Fault] = {}
        self.served: Counter[str] = Counter()

    def set(self, kind: str, rate: float = 1.0, count: int | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0.0 and 1.0")
        if count is not None and count < 0:
            raise ValueError("count must not be negative")
        with self._lock:
            self._faults[kind] = _Fault(rate, count)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def fires(self, kind: str) -> bool:
        with self._lock:
            fault = self._faults.get(kind)
            if fault is None or fault.remaining == 0:
                return False
            if self._rng.random() >= fault.rate:
                return False
            if fault.remaining is not None:
                fault.remaining -= 1
            self.served[kind] += 1
            return True
