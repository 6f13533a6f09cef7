"""Each fault happens when asked, as often as asked, and only then."""

from __future__ import annotations

import json

import pytest
import requests

FAR_FUTURE = "Wed, 01 Jan 2031 00:00:00 +0000"


def _set_fault(bc, kind: str, rate: float = 1.0, count: int | None = None) -> None:
    body = {"kind": kind, "rate": rate, **({"count": count} if count is not None else {})}
    assert bc.control("POST", "/faults", json=body).status_code == 200


@pytest.mark.parametrize("kind,status", [("http_500", 500), ("http_502", 502), ("http_503", 503), ("http_504", 504)])
def test_server_errors_use_bigcommerce_bodies_and_honour_count(bc, kind, status):
    _set_fault(bc, kind, count=2)
    v3 = bc.get("v3", "/customers")
    assert v3.status_code == status
    assert v3.json()["status"] == status and v3.json()["errors"] == {} and "type" in v3.json()
    v2 = bc.get("v2", "/orders")
    assert v2.status_code == status and v2.json()[0]["status"] == status
    assert bc.get("v2", "/orders").status_code == 200
    assert bc.sandbox.stats()["faults_served"] == {kind: 2}


def test_rate_limit_without_headers(bc):
    _set_fault(bc, "rate_limit_no_headers", count=1)
    response = bc.get("v3", "/customers")
    assert response.status_code == 429
    assert not [name for name in response.headers if name.lower().startswith("x-rate-limit")]
    assert "X-Rate-Limit-Requests-Left" in bc.get("v3", "/customers").headers


def test_reset_drops_the_connection(bc):
    _set_fault(bc, "reset", count=1)
    with pytest.raises(requests.ConnectionError):
        bc.get("v2", "/orders")
    assert bc.get("v2", "/orders").status_code == 200


def test_hang_outlasts_the_client_timeout(bc):
    _set_fault(bc, "hang", count=1)
    with pytest.raises(requests.Timeout):
        bc.session.get(bc.api("v2") + "/time", timeout=0.3)
    assert bc.get("v2", "/time").status_code == 200


def test_malformed_json_is_a_200_with_a_truncated_body(bc):
    _set_fault(bc, "malformed_json", count=1)
    broken = bc.get("v3", "/customers")
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(broken.text)
    assert bc.get("v3", "/customers").json()["data"]


def test_wrong_totals_claim_the_first_page_is_the_last(bc):
    _set_fault(bc, "wrong_totals", count=1)
    wrong = bc.get("v3", "/catalog/products", params={"limit": 10}).json()["meta"]["pagination"]
    assert wrong["total_pages"] == 1 and wrong["total"] == 10 and "next" not in wrong["links"]
    right = bc.get("v3", "/catalog/products", params={"limit": 10}).json()["meta"]["pagination"]
    assert right["total"] == 40 and right["total_pages"] == 4


def _naive_offset_scan(bc) -> list[int]:
    ids, page = [], 1
    window = {"max_date_modified": FAR_FUTURE, "sort": "date_modified:asc", "limit": 50}
    while True:
        response = bc.get("v2", "/orders", params={**window, "page": page})
        if response.status_code == 204:
            return ids
        ids += [order["id"] for order in response.json()]
        page += 1


def _keyset_scan(bc, max_modified: str) -> list[int]:
    ids, last_id = [], 0
    while True:
        params = {"min_id": last_id + 1, "sort": "id:asc", "limit": 50, "max_date_modified": max_modified}
        response = bc.get("v2", "/orders", params=params)
        if response.status_code == 204:
            return ids
        batch = [order["id"] for order in response.json()]
        ids += batch
        last_id = batch[-1]


def test_mutate_during_scan_makes_offset_paging_skip_rows_but_not_keyset_paging(bc):
    expected = {order["id"] for order in bc.sandbox.export("orders") if order["status_id"] != 0}
    _set_fault(bc, "mutate_during_scan", count=3)
    naive = _naive_offset_scan(bc)
    assert expected - set(naive), "offset paging over date_modified must lose rows when rows change mid-scan"
    assert bc.sandbox.stats()["faults_served"] == {"mutate_during_scan": 3}
    _set_fault(bc, "mutate_during_scan", count=3)
    assert set(_keyset_scan(bc, FAR_FUTURE)) == expected


def test_faults_never_touch_the_control_api_and_delete_clears_them(bc):
    _set_fault(bc, "http_500")
    assert bc.control("GET", "/stats").status_code == 200
    assert bc.control("GET", "/export/products").status_code == 200
    assert bc.get("v2", "/time").status_code == 500
    assert bc.control("DELETE", "/faults").status_code == 200
    assert bc.get("v2", "/time").status_code == 200


def test_fault_rate_is_reproducible_by_seed(start_bc):
    def pattern(bc) -> list[int]:
        _set_fault(bc, "http_503", rate=0.3)
        return [bc.get("v2", "/time").status_code for _ in range(30)]

    first, second = pattern(start_bc(seed=11)), pattern(start_bc(seed=11))
    assert first == second and 503 in first and 200 in first
    assert pattern(start_bc(seed=12)) != first


def test_unknown_fault_kind_is_refused(bc):
    assert bc.control("POST", "/faults", json={"kind": "gremlins"}).status_code == 400
