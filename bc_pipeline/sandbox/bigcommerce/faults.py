"""Faults a test or the demo switches on: which kind, how often (seeded), how many times."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

FAULT_KINDS = (
    "http_500", "http_502", "http_503", "http_504", "rate_limit_no_headers", "hang", "reset", "malformed_json",
    "wrong_totals", "mutate_during_scan",
)


@dataclass
class ActiveFault:
    kind: str
    rate: float
    remaining: int | None
    rng: random.Random


class FaultPlan:
    """Each fault draws from its own random stream seeded by (store seed, kind), so a run replays exactly."""

    def __init__(self, seed: int, on_served=None):
        self._seed = seed
        self._lock = threading.Lock()
        self._faults: dict[str, ActiveFault] = {}
        self._on_served = on_served

    def set(self, kind: str, rate: float = 1.0, count: int | None = None) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0.0 and 1.0")
        with self._lock:
            self._faults[kind] = ActiveFault(kind, rate, count, random.Random(f"{self._seed}/fault/{kind}"))

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def fires(self, kind: str) -> bool:
        """Whether `kind` strikes this request; call only where the fault can apply, since a strike uses one count."""
        with self._lock:
            fault = self._faults.get(kind)
            if fault is None or fault.remaining == 0 or fault.rng.random() >= fault.rate:
                return False
            if fault.remaining is not None:
                fault.remaining -= 1
        if self._on_served:
            self._on_served(kind)
        return True

    def first_firing(self, kinds) -> str | None:
        return next((kind for kind in kinds if self.fires(kind)), None)
