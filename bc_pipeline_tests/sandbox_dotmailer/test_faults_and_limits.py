"""Injected faults happen when asked and only then; the per-minute tier answers 429 with its headers."""

from __future__ import annotations

import time

from .helpers import contact, import_contacts, import_insight


def test_no_fault_is_served_unless_asked(live):
    for _ in range(20):
        assert live.api.get("/v2/address-books").status_code == 200
    assert import_contacts(live.api, [contact("a@example.com")])["status"] == "Finished"
    assert live.sandbox.stats()["faults_served"] == {}


def test_http_500_fires_for_its_count_then_stops(live):
    live.control("POST", "/_sandbox/faults", json={"kind": "http_500", "rate": 1.0, "count": 2})
    statuses = [live.api.get("/v2/data-fields").status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    assert live.control("GET", "/_sandbox/state").status_code == 200
    assert live.sandbox.stats()["faults_served"] == {"http_500": 2}


def test_rate_limit_fault_answers_429_with_the_ratelimit_headers(live):
    live.sandbox.set_fault("rate_limit", count=1)
    limited = live.api.get("/v2/programs")
    assert limited.status_code == 429
    assert {"x-ratelimit-limit", "x-ratelimit-reset", "x-ratelimit-scope"} <= set(limited.headers)
    assert live.api.get("/v2/programs").status_code == 200


def test_import_rejected_and_import_failed_end_the_import_without_changes(live):
    live.sandbox.set_fault("import_rejected", count=1)
    assert import_contacts(live.api, [contact("a@example.com")])["status"] == "RejectedByWatchdog"
    live.sandbox.set_fault("import_failed", count=1)
    assert import_contacts(live.api, [contact("b@example.com")])["status"] == "Failed"
    assert live.sandbox.state()["contacts"] == []
    assert import_contacts(live.api, [contact("c@example.com")])["status"] == "Finished"

    live.sandbox.set_fault("import_failed", count=1)
    failed = import_insight(live.api, "Catalog_Default", "account", [{"key": "1", "json": {"n": 1}}], "catalog")
    assert failed["status"] == "Failed"
    assert live.sandbox.stats()["faults_served"] == {"import_rejected": 1, "import_failed": 2}


def test_a_partial_rate_is_reproducible_by_seed_and_cleared_on_demand(make_sandbox):
    def run() -> list[int]:
        live = make_sandbox(seed=11)
        live.sandbox.set_fault("http_500", rate=0.5)
        statuses = [live.api.get("/v2/programs").status_code for _ in range(30)]
        live.control("DELETE", "/_sandbox/faults")
        assert live.api.get("/v2/programs").status_code == 200
        return statuses

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(500) < 30


def test_unknown_fault_kinds_are_refused(live):
    assert live.control("POST", "/_sandbox/faults", json={"kind": "hang"}).status_code == 400


def test_the_per_minute_tier_limits_and_recovers_after_its_window(make_sandbox):
    live = make_sandbox(rate_limit_per_minute=3, rate_limit_window_s=1.0)
    statuses = [live.api.get("/v2/account-info").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = live.api.get("/v2/account-info")
    assert limited.headers["x-ratelimit-limit"] == "3"
    assert int(limited.headers["x-ratelimit-reset"]) >= 1
    assert live.control("GET", "/_sandbox/stats").status_code == 200
    time.sleep(1.1)
    assert live.api.get("/v2/account-info").status_code == 200


def test_stats_count_api_requests_by_route_and_status_but_never_control_calls(live):
    live.api.get("/v2/address-books")
    live.api.get("/v2/address-books", auth=("someone", "else"))
    live.control("GET", "/_sandbox/state")
    stats = live.control("GET", "/_sandbox/stats").json()
    assert stats == {
        "total_requests": 2,
        "requests": {"GET /v2/address-books": 2},
        "status_counts": {"200": 1, "401": 1},
        "faults_served": {},
    }
