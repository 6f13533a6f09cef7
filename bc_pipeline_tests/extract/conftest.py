"""A BigCommerce sandbox served on 127.0.0.1, a fast-failing client for it, and a warehouse per test."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import pytest

from bc_pipeline.bigcommerce.client import BigCommerceClient
from bc_pipeline.bigcommerce.extract import SAFETY_LAG, StreamResult, extract_stream, extract_streams
from bc_pipeline.bigcommerce.pacing import RatePacer
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline.sandbox.bigcommerce import BigCommerceSandbox, BigCommerceSandboxConfig
from bc_pipeline.sandbox.server import RunningServer, serve_in_thread
from bc_pipeline.warehouse import open_warehouse

TOKEN = "sandbox-token"

INCREMENTAL_STREAMS = ("customers", "subscribers", "orders", "products")

# What must match the store's truth for a staged row to be its newest version.
COMPARED_FIELDS = {
    "customers": ("email", "first_name", "last_name", "date_modified"),
    "subscribers": ("email", "consents", "date_modified"),
    "orders": ("customer_id", "status_id", "is_deleted", "total_inc_tax", "date_modified"),
    "products": ("name", "price", "is_visible", "date_modified"),
}


@dataclass
class SandboxStore:
    sandbox: BigCommerceSandbox
    server: RunningServer
    clients: list[BigCommerceClient] = field(default_factory=list)
    # Deletes reach a poller only by webhook (another component); staging keeps the last version seen.
    deleted: dict[str, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sandbox.store.listeners.append(self._record_delete)

    def _record_delete(self, scope: str, data: dict) -> None:
        if scope.endswith("/deleted"):
            self.deleted.setdefault(f"{data['type']}s", set()).add(data["id"])

    @property
    def api_url(self) -> str:
        return f"{self.server.url}/stores/{self.sandbox.config.store_hash}"

    def client(self, **overrides) -> BigCommerceClient:
        """A client that gives up fast: tests exercise retries, not patience."""
        token = overrides.pop("token", TOKEN)
        settings = {
            "timeout": (1.0, 1.5),
            "backoff_base_s": 0.01,
            "backoff_cap_s": 0.05,
            "pacer": RatePacer(backoff_base_s=0.01, backoff_cap_s=0.1),
            **overrides,
        }
        client = BigCommerceClient(self.api_url, token, **settings)
        self.clients.append(client)
        return client

    def settle(self) -> None:
        """The store's clock moved past the safety lag, so a run sees every change made so far."""
        self.sandbox.clock.advance(SAFETY_LAG.total_seconds() + 1)

    def expected(self, stream: str) -> dict[int, dict]:
        records = self.sandbox.export(stream)
        if stream == "orders":
            # /v2/orders lists incomplete orders (status 0) only when asked for them by status.
            records = [record for record in records if record["status_id"] != 0]
        return {record["id"]: record for record in records}


@pytest.fixture
def bc_store():
    """Factory: bc_store(**config) starts a sandbox store and serves it until the test ends."""
    started: list[SandboxStore] = []

    def start(**config) -> SandboxStore:
        sandbox = BigCommerceSandbox(BigCommerceSandboxConfig(**{"latency_ms": 0, **config}))
        store = SandboxStore(sandbox, serve_in_thread(sandbox.app))
        started.append(store)
        return store

    yield start
    for store in started:
        for client in store.clients:
            client.close()
        store.server.stop()


@pytest.fixture
def warehouse(tmp_path):
    conn = open_warehouse(tmp_path / "warehouse.duckdb")
    yield conn
    conn.close()


def sync(store: SandboxStore, client, conn, streams=INCREMENTAL_STREAMS, **kwargs) -> dict[str, StreamResult]:
    store.settle()
    return {name: extract_stream(client, conn, STREAMS[name], **kwargs) for name in streams}


def staged(conn, stream: str) -> dict[int, dict]:
    return {row_id: json.loads(raw) for row_id, raw in conn.execute(f"SELECT id, raw FROM bigcommerce.{stream}").fetchall()}


def assert_matches_store(store: SandboxStore, conn, streams=INCREMENTAL_STREAMS) -> None:
    """Every stream holds exactly the store's records (no missing, no extra), each in its newest version."""
    for stream in streams:
        expected, got = store.expected(stream), staged(conn, stream)
        missing = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected) - store.deleted.get(stream, set()))
        assert not missing and not extra, f"{stream}: missing {missing[:10]} extra {extra[:10]}"
        stale = [
            row_id for row_id, record in expected.items()
            if any(got[row_id].get(name) != record.get(name) for name in COMPARED_FIELDS[stream])
        ]
        assert not stale, f"{stream}: stale versions of {stale[:10]}"
    if "orders" in streams:
        expected_items = {
            (order_id, item["id"]) for order_id, order in store.expected("orders").items() for item in order["line_items"]
        }
        got_items = set(conn.execute("SELECT order_id, id FROM bigcommerce.order_line_items").fetchall())
        assert got_items == expected_items


MIB = 2**20


def large_orders(count: int, note_bytes: int, first_id: int = 1) -> list[dict]:
    """Orders of customers 1-20 whose staff notes make each about `note_bytes` of JSON (a B2B order with hundreds
    of lines is as large), for `sandbox.load`."""
    return [
        {"id": first_id + n, "customer_id": 1 + n % 20, "status_id": 11, "staff_notes": "n" * note_bytes,
         "line_items": [{"product_id": 1, "quantity": 2, "name": "Pallet", "price_inc_tax": "10.00"}]}
        for n in range(count)
    ]


def extract_large(store: SandboxStore, conn, streams) -> dict[str, StreamResult]:
    """Extract `streams` of a store of very large records, whose 20 MB pages take the sandbox longer than the
    tests' usual 1.5 s to send."""
    store.settle()
    return extract_streams(store.client(timeout=(1.0, 30.0)), conn, [STREAMS[name] for name in streams])


def minimum_requests(store: SandboxStore) -> int:
    return sum(math.ceil(len(store.expected(stream)) / 250) for stream in INCREMENTAL_STREAMS)


def api_requests(store: SandboxStore) -> dict[str, int]:
    return store.sandbox.stats()["requests"]

