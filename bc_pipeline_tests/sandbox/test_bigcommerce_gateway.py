"""The gateway: token (401), scopes (403), the quota and its headers (429), latency, and request stats."""

from __future__ import annotations

import threading
import time

import requests

RATE_HEADERS = ("X-Rate-Limit-Requests-Left", "X-Rate-Limit-Requests-Quota", "X-Rate-Limit-Time-Reset-Ms",
                "X-Rate-Limit-Time-Window-Ms")


def test_bad_token_is_401_in_each_versions_shape(bc):
    v3 = requests.get(bc.api("v3") + "/customers", headers={"X-Auth-Token": "wrong"}, timeout=5)
    assert v3.status_code == 401 and v3.json()["status"] == 401
    v2 = requests.get(bc.api("v2") + "/orders", timeout=5)
    assert v2.status_code == 401 and v2.json()[0]["status"] == 401


def test_endpoints_outside_the_token_scopes_are_403(start_bc):
    bc = start_bc(token_scopes={"store_v2_customers_read_only", "store_v2_information_read_only"})
    assert bc.get("v3", "/customers").status_code == 200
    assert bc.get("v3", "/customers/subscribers").status_code == 200
    assert bc.get("v2", "/store").status_code == 200
    forbidden = bc.get("v2", "/orders")
    assert forbidden.status_code == 403 and "store_v2_orders" in forbidden.json()[0]["message"]
    assert bc.get("v3", "/catalog/products").status_code == 403
    assert bc.get("v3", "/hooks").status_code == 200


def test_quota_headers_then_429_then_recovery(start_bc):
    bc = start_bc(quota=5, window_ms=700)
    lefts = []
    for _ in range(5):
        response = bc.get("v2", "/time")
        assert response.status_code == 200
        assert all(header in response.headers for header in RATE_HEADERS)
        lefts.append(int(response.headers["X-Rate-Limit-Requests-Left"]))
    assert lefts == [4, 3, 2, 1, 0]
    spent = bc.get("v3", "/customers")
    assert spent.status_code == 429
    assert spent.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert spent.headers["X-Rate-Limit-Requests-Quota"] == "5"
    assert spent.headers["X-Rate-Limit-Time-Window-Ms"] == "700"
    reset_ms = int(spent.headers["X-Rate-Limit-Time-Reset-Ms"])
    assert 0 < reset_ms <= 700
    assert bc.control("GET", "/stats").status_code == 200, "the control API never spends quota"
    time.sleep(reset_ms / 1000 + 0.05)
    recovered = bc.get("v2", "/time")
    assert recovered.status_code == 200 and recovered.headers["X-Rate-Limit-Requests-Left"] == "4"
    assert bc.sandbox.stats()["status_counts"]["429"] == 1


def test_latency_delays_requests_without_serialising_them(start_bc):
    bc = start_bc(latency_ms=300)
    durations = []

    def timed_get():
        started = time.monotonic()
        requests.get(bc.api("v2") + "/time", headers={"X-Auth-Token": "sandbox-token"}, timeout=5)
        durations.append(time.monotonic() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=timed_get) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert min(durations) >= 0.3
    assert time.monotonic() - started < 1.0


def test_stats_count_requests_per_route(bc):
    bc.get("v3", "/customers")
    bc.get("v2", "/orders/5")
    bc.get("v2", "/orders/6/products")
    stats = bc.control("GET", "/stats").json()
    assert stats["total_requests"] == 3
    assert stats["requests"] == {"GET /v3/customers": 1, "GET /v2/orders/{id}": 1, "GET /v2/orders/{id}/products": 1}
    assert stats["status_counts"] == {"200": 3}
    assert stats["faults_served"] == {}
