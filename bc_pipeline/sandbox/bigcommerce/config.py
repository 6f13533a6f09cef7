"""Settings of one sandbox BigCommerce store."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BigCommerceSandboxConfig:
    seed: int = 7
    customers: int = 200
    orders: int = 600
    products: int = 60
    subscribers: int = 150
    latency_ms: int = 0
    quota: int = 150
    window_ms: int = 30000
    store_hash: str = "sandbox"
    access_token: str = "sandbox-token"
    # None grants every scope; otherwise endpoints outside these scope names answer 403.
    token_scopes: frozenset[str] | set[str] | None = None
    activity_per_minute: int = 0
    store_name: str = "Sandbox Store"
    store_url: str = "https://sandbox.example"
