"""The generated store: deterministic, varied as real stores are; fixtures, activity and webhooks."""

from __future__ import annotations

import json
import queue
import time
from collections import Counter

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from bc_pipeline.sandbox.bigcommerce import BigCommerceSandbox, BigCommerceSandboxConfig
from bc_pipeline.sandbox.clock import SandboxClock
from bc_pipeline.sandbox.server import serve_in_thread

from .conftest import FIXED_START


def _sandbox(**sizes) -> BigCommerceSandbox:
    return BigCommerceSandbox(BigCommerceSandboxConfig(**sizes), clock=SandboxClock(start=FIXED_START))


def _export_bytes(sandbox: BigCommerceSandbox) -> bytes:
    kinds = ("customers", "subscribers", "orders", "products", "carts")
    return b"".join(json.dumps(sandbox.export(kind)).encode() for kind in kinds)


def test_same_seed_same_export_and_another_seed_differs():
    sizes = {"customers": 150, "orders": 400, "products": 30, "subscribers": 100}
    first = _export_bytes(_sandbox(seed=3, **sizes))
    assert first == _export_bytes(_sandbox(seed=3, **sizes))
    assert first != _export_bytes(_sandbox(seed=4, **sizes))


def test_http_export_is_ndjson_of_the_api_shapes(bc):
    lines = bc.control("GET", "/export/orders").text.splitlines()
    orders = [json.loads(line) for line in lines]
    assert len(orders) == 300
    assert all(isinstance(order["line_items"], list) and order["line_items"] for order in orders)
    assert orders[0]["line_items"][0]["order_id"] == orders[0]["id"]
    customers = [json.loads(line) for line in bc.control("GET", "/export/customers").text.splitlines()]
    assert {"addresses", "form_fields", "attributes"} <= set(customers[0])
    assert bc.control("GET", "/export/nothing").status_code == 404


def test_generated_store_has_the_shapes_real_stores_have():
    sandbox = _sandbox(seed=5, customers=1500, orders=4000, products=200, subscribers=1200)
    orders = sandbox.export("orders")
    line_counts = [len(order["line_items"]) for order in orders]
    assert min(line_counts) == 1 and max(line_counts) >= 100
    assert sum(count <= 5 for count in line_counts) / len(orders) > 0.9
    guests = [order for order in orders if order["customer_id"] == 0]
    assert 0.15 < len(guests) / len(orders) < 0.25
    assert all(order["billing_address"]["email"] for order in guests)
    buyers = Counter(order["customer_id"] for order in orders if order["customer_id"])
    assert max(buyers.values()) > 5 and 1 in buyers.values()
    assert len({order["currency_code"] for order in orders}) >= 3
    assert any(order["status_id"] == 0 for order in orders) and any(order["is_deleted"] for order in orders)
    customers = sandbox.export("customers")
    assert any(not name.isascii() for customer in customers for name in (customer["first_name"], customer["last_name"]))
    assert any("@" not in customer["email"] or customer["email"].endswith("@") for customer in customers)
    products = sandbox.export("products")
    assert any(not product["is_visible"] for product in products)
    subscribers = sandbox.export("subscribers")
    customer_emails = {customer["email"] for customer in customers}
    assert any("marketing_newsletter" in subscriber["consents"] for subscriber in subscribers)
    assert any(not subscriber["consents"] for subscriber in subscribers)
    assert any(subscriber["email"] not in customer_emails for subscriber in subscribers)
    assert any(subscriber["first_name"] == "" for subscriber in subscribers)
    years = {order["date_created"].split()[3] for order in orders}
    assert len(years) >= 2


def test_a_large_store_builds_without_prebuilding_api_objects():
    sandbox = _sandbox(customers=20_000, orders=100_000, products=2_000, subscribers=15_000)
    assert len(sandbox.store.orders) == 100_000
    assert sandbox.export("products")[-1]["id"] == 2_000


FIXTURE = {
    "customers": [{"id": 501, "email": "Ana@Example.com", "first_name": "Ana", "last_name": "Łukasiewicz",
                   "date_modified": "2025-02-03T04:05:06Z",
                   "addresses": [{"address1": "1 Main St", "city": "Springfield", "country_code": "US"}]}],
    "subscribers": [{"id": 900, "email": "news@example.com", "consents": ["marketing_newsletter"]}],
    "products": [{"id": 77, "name": "Fixture Lamp", "price": 12.5, "is_visible": False}],
    "orders": [{"id": 9001, "customer_id": 0, "status_id": 11, "date_created": "Tue, 04 Feb 2025 10:00:00 +0000",
                "billing_address": {"first_name": "", "last_name": "", "email": "guest@example.com"},
                "line_items": [{"product_id": 77, "name": "Fixture Lamp", "quantity": 2, "price_ex_tax": "12.5000"}]}],
}


def test_loaded_fixture_round_trips_through_export(bc):
    assert bc.control("POST", "/load", json=FIXTURE).json()["loaded"] == {
        "customers": 1, "subscribers": 1, "products": 1, "orders": 1}
    customer = next(row for row in bc.sandbox.export("customers") if row["id"] == 501)
    assert (customer["email"], customer["last_name"], customer["date_modified"]) == (
        "Ana@Example.com", "Łukasiewicz", "2025-02-03T04:05:06Z")
    assert customer["addresses"][0]["city"] == "Springfield" and customer["addresses"][0]["customer_id"] == 501
    subscriber = next(row for row in bc.sandbox.export("subscribers") if row["id"] == 900)
    assert subscriber["consents"] == ["marketing_newsletter"]
    product = next(row for row in bc.sandbox.export("products") if row["id"] == 77)
    assert (product["name"], product["price"], product["is_visible"]) == ("Fixture Lamp", 12.5, False)
    order = next(row for row in bc.sandbox.export("orders") if row["id"] == 9001)
    assert order["customer_id"] == 0 and order["billing_address"]["email"] == "guest@example.com"
    assert order["date_created"] == "Tue, 04 Feb 2025 10:00:00 +0000"
    assert [(item["product_id"], item["quantity"], item["total_ex_tax"]) for item in order["line_items"]] == [
        (77, 2, "25.0000")]
    assert order["subtotal_ex_tax"] == "25.0000"
    listed = bc.get("v2", "/orders/9001", params={"include": "consignments.line_items",
                                                  "consignment_structure": "object"}).json()
    assert listed["consignments"]["shipping"][0]["line_items"] == order["line_items"]


def test_activity_changes_the_store_and_moves_date_modified_to_now(bc):
    before = {kind: bc.sandbox.export(kind) for kind in ("customers", "subscribers", "orders", "products")}
    assert bc.control("POST", "/activity", json={"changes": 60}).json() == {"changes": 60}
    after = {kind: bc.sandbox.export(kind) for kind in before}
    assert any(before[kind] != after[kind] for kind in before)
    now = bc.get("v2", "/time").json()["time"]
    recent = bc.get("v2", "/orders", params={"min_date_modified": str(now - 5)})
    assert recent.status_code == 200


def test_active_hooks_receive_store_events_with_their_headers(bc):
    received: queue.Queue = queue.Queue()

    async def receive(request):
        received.put((dict(request.headers), await request.json()))
        return Response(status_code=200)

    receiver = serve_in_thread(Starlette(routes=[Route("/hook", receive, methods=["POST"])]))
    try:
        hook = {"scope": "store/customer/*", "destination": receiver.url + "/hook", "is_active": True,
                "headers": {"X-Hook-Secret": "abc"}}
        assert bc.session.post(bc.api("v3") + "/hooks", json=hook).status_code == 200
        started = time.monotonic()
        bc.sandbox.activity_maker.new_customer()
        assert time.monotonic() - started < 0.5, "delivery must not block the change"
        headers, payload = received.get(timeout=5)
    finally:
        receiver.stop()
    assert headers["x-hook-secret"] == "abc"
    assert payload["scope"] == "store/customer/created"
    assert payload["data"]["type"] == "customer" and isinstance(payload["data"]["id"], int)
    assert payload["producer"] == "stores/sandbox" and payload["hash"] and payload["created_at"]
    assert bc.get("v3", "/customers", params={"id:in": payload["data"]["id"]}).json()["data"]


def test_deleted_records_leave_the_export_and_placed_orders_keep_their_buyer(bc):
    store = bc.sandbox.store
    order = next(row for row in store.orders.ascending() if row.customer_id)
    billing_before = bc.get("v2", f"/orders/{order.id}").json()["billing_address"]
    store.remove("customer", order.customer_id)
    assert order.customer_id not in {row["id"] for row in bc.sandbox.export("customers")}
    assert bc.get("v3", "/customers", params={"id:in": order.customer_id}).json()["data"] == []
    assert bc.get("v2", f"/orders/{order.id}").json()["billing_address"] == billing_before


def test_background_activity_runs_at_the_configured_rate():
    sandbox = BigCommerceSandbox(BigCommerceSandboxConfig(customers=50, orders=100, products=10, subscribers=40,
                                                          activity_per_minute=1200))
    events = []
    sandbox.store.listeners.append(lambda scope, data: events.append(scope))
    try:
        time.sleep(0.6)
    finally:
        sandbox.close()
    assert len(events) >= 3


def test_reset_returns_to_the_generated_store(bc):
    generated = bc.sandbox.export("customers")
    bc.control("POST", "/load", json=FIXTURE)
    bc.control("POST", "/activity", json={"changes": 20})
    assert bc.control("POST", "/reset").status_code == 200
    assert bc.sandbox.export("customers") == generated
