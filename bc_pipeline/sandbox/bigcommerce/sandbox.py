"""One sandbox BigCommerce store: its state, quota, faults, hooks and the app that serves them."""

from __future__ import annotations

from ..clock import SandboxClock
from .activity import ActivityMaker, ActivityTicker
from .app import build_app
from .config import BigCommerceSandboxConfig
from .export import export_records
from .faults import FaultPlan
from .fixtures import load_fixture
from .quota import Quota
from .stats import RequestStats
from .store import Store
from .webhooks import HookRegistry

STORE_ID = "1001"


class BigCommerceSandbox:
    def __init__(self, config: BigCommerceSandboxConfig | None = None, clock: SandboxClock | None = None):
        self.config = config or BigCommerceSandboxConfig()
        self.clock = clock or SandboxClock()
        self.request_stats = RequestStats()
        self.faults = FaultPlan(self.config.seed, on_served=self.request_stats.record_fault)
        self.quota = Quota(self.config.quota, self.config.window_ms)
        self.hooks = HookRegistry(STORE_ID)
        self._build_store()
        self.app = build_app(self)
        self._ticker = (ActivityTicker(self.activity, self.config.activity_per_minute)
                        if self.config.activity_per_minute > 0 else None)

    def close(self) -> None:
        """Stops background activity; the server itself is stopped by whoever started it."""
        if self._ticker is not None:
            self._ticker.stop()

    def _build_store(self) -> None:
        self.store = Store(self.config, self.clock)
        self.hooks.watch(self.store)
        self.activity_maker = ActivityMaker(self.store, self.config.seed)

    def load(self, fixture: dict) -> dict[str, int]:
        return load_fixture(self.store, fixture)

    def activity(self, changes: int) -> int:
        with self.store.lock:
            return self.activity_maker.run(changes)

    def export(self, kind: str) -> list[dict]:
        """As GET /_sandbox/export/{kind}; order links use the address the API was last reached at."""
        return list(export_records(self.store, kind, self.store.base_url))

    def set_fault(self, kind: str, rate: float = 1.0, count: int | None = None) -> None:
        self.faults.set(kind, rate, None if count is None else int(count))

    def clear_faults(self) -> None:
        self.faults.clear()

    def stats(self) -> dict:
        return self.request_stats.snapshot()

    def reset(self) -> None:
        """Back to the generated store: fixtures, activity, hooks and faults are dropped."""
        self.clear_faults()
        self.hooks.clear()
        self._build_store()
