"""Paging ends as the real API's does, and filters select what the API would."""

from __future__ import annotations

from email.utils import parsedate_to_datetime


def _all_v2_orders(bc, **params) -> list[dict]:
    orders, page = [], 1
    while True:
        response = bc.get("v2", "/orders", params={**params, "page": page, "limit": 250})
        if response.status_code == 204:
            assert response.content == b""
            return orders
        assert response.status_code == 200
        orders += response.json()
        page += 1


def test_v2_orders_end_with_204_and_skip_incomplete_unless_asked(bc):
    listed = _all_v2_orders(bc)
    exported = bc.sandbox.export("orders")
    assert [order["id"] for order in listed] == [order["id"] for order in exported if order["status_id"] != 0]
    incomplete = _all_v2_orders(bc, status_id=0)
    assert incomplete and all(order["status_id"] == 0 for order in incomplete)
    assert any(order["is_deleted"] for order in listed)


def test_v2_limit_over_250_is_413_with_the_real_body(bc):
    response = bc.get("v2", "/orders", params={"limit": 251})
    assert response.status_code == 413
    assert response.json() == [{"status": 413, "message": "The specified limit exceeds the maximum allowed.",
                                "details": {"max_limit": 250}}]


def test_v2_order_filters_and_sort(bc):
    window = {"min_date_modified": "Mon, 01 Jan 2026 00:00:00 +0000", "max_date_modified": "2026-03-31T23:59:59Z"}
    orders = _all_v2_orders(bc, sort="date_modified:asc", **window)
    stamps = [parsedate_to_datetime(order["date_modified"]) for order in orders]
    assert orders and stamps == sorted(stamps)
    assert all("2026-01-01" <= stamp.date().isoformat() <= "2026-03-31" for stamp in stamps)
    keyset = _all_v2_orders(bc, min_id=100, max_id=120, sort="id:asc")
    assert [order["id"] for order in keyset] == sorted(order["id"] for order in keyset)
    assert all(100 <= order["id"] <= 120 for order in keyset)
    guests = _all_v2_orders(bc, customer_id=0)
    assert guests and all(order["customer_id"] == 0 and order["billing_address"]["email"] for order in guests)
    assert 0.1 < len(guests) / len(_all_v2_orders(bc)) < 0.3
    count = bc.get("v2", "/orders/count", params=window).json()["count"]
    assert count == len(orders)


def test_order_links_point_back_at_the_sandbox(bc):
    order = bc.get("v2", "/orders/1").json()
    assert order["products"]["url"] == bc.api("v2") + "/orders/1/products"
    assert order["products"]["resource"] == "/orders/1/products"
    assert bc.session.get(order["shipping_addresses"]["url"]).status_code == 200


def test_v2_sub_resources_are_paged_and_204_when_empty(bc):
    sizes = {order["id"]: len(order["line_items"]) for order in bc.sandbox.export("orders")}
    order_id = max(sizes, key=sizes.get)
    first = bc.get("v2", f"/orders/{order_id}/products", params={"limit": 1})
    assert len(first.json()) == 1
    past_end = bc.get("v2", f"/orders/{order_id}/products", params={"page": sizes[order_id] + 1, "limit": 1})
    assert past_end.status_code == 204


def test_v3_offset_paging_ends_on_a_short_last_page(bc):
    seen, page = [], 1
    while True:
        body = bc.get("v3", "/customers/subscribers", params={"page": page, "limit": 40}).json()
        pagination = body["meta"]["pagination"]
        seen += [subscriber["id"] for subscriber in body["data"]]
        if "next" not in pagination["links"]:
            break
        page += 1
    assert pagination["total_pages"] == page and pagination["count"] == len(body["data"]) < 40
    assert len(seen) == len(set(seen)) == pagination["total"] == 90
    beyond = bc.get("v3", "/customers/subscribers", params={"page": page + 1, "limit": 40}).json()
    assert beyond["data"] == []


def test_v3_limit_is_capped_at_250(bc):
    body = bc.get("v3", "/catalog/products", params={"limit": 1000}).json()
    assert body["meta"]["pagination"]["per_page"] == 250


def test_customer_cursor_paging_walks_every_customer_once(bc):
    seen = []
    body = bc.get("v3", "/customers", params={"limit": 25, "sort": "date_modified:asc"}).json()
    while True:
        seen += [customer["id"] for customer in body["data"]]
        next_link = body["meta"]["cursor_pagination"]["links"].get("next")
        if not next_link:
            break
        body = bc.session.get(bc.api("v3") + "/customers" + next_link).json()
    assert sorted(seen) == list(range(1, 121))
    end_cursor = body["meta"]["cursor_pagination"]["end_cursor"]
    after_end = bc.get("v3", "/customers", params={"after": end_cursor, "sort": "date_modified:asc"}).json()
    assert after_end["data"] == []
    assert "pagination" not in after_end["meta"]


def test_customer_filters(bc):
    customers = bc.sandbox.export("customers")
    emails = ",".join(customer["email"] for customer in customers[:3])
    by_email = bc.get("v3", "/customers", params={"email:in": emails}).json()["data"]
    assert [customer["id"] for customer in by_email] == [1, 2, 3]
    by_id = bc.get("v3", "/customers", params={"id:in": "5,7"}).json()["data"]
    assert [customer["id"] for customer in by_id] == [5, 7]
    middle = sorted(customer["date_modified"] for customer in customers)[60]
    newer = bc.get("v3", "/customers", params={"date_modified:min": middle, "limit": 250}).json()["data"]
    assert newer and all(customer["date_modified"] >= middle for customer in newer)
    with_addresses = bc.get("v3", "/customers", params={"include": "addresses", "limit": 5}).json()["data"]
    assert all("addresses" in customer for customer in with_addresses)
    assert all("addresses" not in customer for customer in bc.get("v3", "/customers").json()["data"])


def test_product_filters_and_the_date_only_quirk(bc):
    products = bc.get("v3", "/catalog/products", params={"id:greater": 30, "limit": 250}).json()["data"]
    assert [product["id"] for product in products] == list(range(31, 41))
    hidden = bc.get("v3", "/catalog/products", params={"is_visible": "false", "limit": 250}).json()["data"]
    assert hidden and all(not product["is_visible"] for product in hidden)
    newest = bc.get("v3", "/catalog/products", params={"sort": "date_modified", "direction": "desc"}).json()["data"]
    assert [product["date_modified"] for product in newest] == sorted(
        (product["date_modified"] for product in newest), reverse=True)
    today = bc.sandbox.clock.now().date().isoformat()
    product = bc.sandbox.store.products.get(1)
    bc.sandbox.store.touch("product", product)
    # Modified a minute before "now" today: a date-only minimum means today at the current time, so it is missed.
    product.date_modified -= 60
    same_day = bc.get("v3", "/catalog/products", params={"date_modified:min": today}).json()["data"]
    assert 1 not in [row["id"] for row in same_day]
    exact = bc.get("v3", "/catalog/products", params={"date_modified:min": today + "T00:00:00Z"}).json()["data"]
    assert 1 in [row["id"] for row in exact]


def test_products_include_sub_resources_only_when_asked(bc):
    plain = bc.get("v3", "/catalog/products", params={"limit": 3}).json()["data"]
    assert all("images" not in product and "variants" not in product for product in plain)
    rich = bc.get("v3", "/catalog/products", params={"limit": 3, "include": "images,variants,custom_fields"})
    assert all({"images", "variants", "custom_fields"} <= set(product) for product in rich.json()["data"])


def test_store_and_time(bc):
    store = bc.get("v2", "/store").json()
    assert store["name"] == "Sandbox Store" and store["secure_url"] == "https://sandbox.example"
    assert bc.get("v2", "/time").json()["time"] == int(bc.sandbox.clock.now().timestamp())


def test_dates_use_each_versions_format(bc):
    customer = bc.get("v3", "/customers").json()["data"][0]
    assert customer["date_modified"].endswith("Z")
    product = bc.get("v3", "/catalog/products").json()["data"][0]
    assert product["date_modified"].endswith("+00:00")
    order = bc.get("v2", "/orders/1").json()
    assert order["date_modified"].endswith("+0000")
    assert len(order["total_inc_tax"].split(".")[1]) == 4


def test_clock_moves_only_forward_through_the_control_api(bc):
    before = bc.sandbox.clock.now()
    assert bc.control("POST", "/clock", json={"advance_seconds": 3600}).status_code == 200
    assert (bc.sandbox.clock.now() - before).total_seconds() >= 3600


def test_order_email_filter_and_consignment_links(bc):
    order = bc.get("v2", "/orders/3").json()
    email = order["billing_address"]["email"]
    matching = bc.get("v2", "/orders", params={"email": email.upper(), "limit": 250}).json()
    assert 3 in [row["id"] for row in matching]
    assert all(row["billing_address"]["email"].lower() == email.lower() for row in matching)
    linked = bc.get("v2", "/orders/3", params={"include": "consignments", "consignment_structure": "object"}).json()
    links = linked["consignments"]["shipping"][0]["line_items"]
    products = bc.get("v2", "/orders/3/products", params={"limit": 250}).json()
    assert [link["resource"] for link in links] == [f"/orders/3/products/{item['id']}" for item in products]


def test_customer_cursor_paging_backwards(bc):
    first = bc.get("v3", "/customers", params={"limit": 10}).json()
    second = bc.session.get(bc.api("v3") + "/customers" + first["meta"]["cursor_pagination"]["links"]["next"]).json()
    previous_link = second["meta"]["cursor_pagination"]["links"]["previous"]
    back = bc.session.get(bc.api("v3") + "/customers" + previous_link).json()
    assert [row["id"] for row in back["data"]] == [row["id"] for row in first["data"]]
    assert "previous" not in back["meta"]["cursor_pagination"]["links"]


def test_product_field_selection(bc):
    ids_only = bc.get("v3", "/catalog/products", params={"include_fields": "id", "limit": 250}).json()["data"]
    assert ids_only[0] == {"id": 1} and len(ids_only) == 40
    slim = bc.get("v3", "/catalog/products", params={"exclude_fields": "description", "limit": 1}).json()["data"][0]
    assert "description" not in slim and "name" in slim
