"""Every implemented endpoint answers with bodies that validate against BigCommerce's official specs."""

from __future__ import annotations

import pytest

ENDPOINTS = [
    ("customers.v3.yml", "v3", "/customers"),
    ("customers.v3.yml", "v3", "/customers?include=addresses,formfields,attributes,storecredit&limit=250"),
    ("customers.v3.yml", "v3", "/customers?sort=date_modified:asc&limit=5"),
    ("subscribers.v3.yml", "v3", "/customers/subscribers?limit=250"),
    ("subscribers.v3.yml", "v3", "/customers/subscribers/1"),
    ("products_catalog.v3.yml", "v3", "/catalog/products?limit=250"),
    ("products_catalog.v3.yml", "v3", "/catalog/products?include=images,variants,custom_fields&limit=250"),
    ("products_catalog.v3.yml", "v3", "/catalog/products/1?include=images,custom_fields"),
    ("products_catalog.v3.yml", "v3", "/catalog/products?include_fields=id&limit=250"),
    ("orders.v2.oas2.yml", "v2", "/orders?limit=250"),
    ("orders.v2.oas2.yml", "v2", "/orders?status_id=0"),
    ("orders.v2.oas2.yml", "v2", "/orders/count"),
    ("orders.v2.oas2.yml", "v2", "/orders/1"),
    ("orders.v2.oas2.yml", "v2", "/orders/1/products"),
    ("orders.v2.oas2.yml", "v2", "/orders/1/shipping_addresses"),
    ("orders.v2.oas2.yml", "v2", "/order_statuses"),
    ("orders.v2.oas2.yml", "v2", "/order_statuses/10"),
    ("customers.v2.yml", "v2", "/customers?limit=250"),
    ("customers.v2.yml", "v2", "/customers/count"),
    ("customers.v2.yml", "v2", "/customers/1"),
    ("store_information.v2.yml", "v2", "/store"),
    ("store_information.v2.yml", "v2", "/time"),
]


@pytest.mark.parametrize(("spec_file", "version", "path"), ENDPOINTS)
def test_response_validates_against_the_official_spec(bc, validate, spec_file, version, path):
    response = bc.get(version, path)
    assert response.status_code == 200, response.text
    validate(spec_file, response)


def test_order_with_inlined_line_items_validates_and_inlines_the_order_products(bc, validate):
    """The spec's consignments oneOf cannot tell a link object from a consignment object (each matches any object),
    so the inlined consignments are checked against `/orders/{id}/products`, which the spec does describe."""
    params = {"include": "consignments.line_items", "consignment_structure": "object", "limit": 20}
    orders = bc.get("v2", "/orders", params=params).json()
    for order in orders:
        inlined = order.pop("consignments")["shipping"][0]["line_items"]
        products = bc.get("v2", f"/orders/{order['id']}/products", params={"limit": 250})
        validate("orders.v2.oas2.yml", products)
        assert inlined == products.json()
    plain = bc.get("v2", "/orders", params={"limit": 20})
    validate("orders.v2.oas2.yml", plain)
    assert plain.json() == orders


def test_order_coupons_validate(bc, validate):
    with_coupons = [order for order in range(1, 120)
                    if bc.get("v2", f"/orders/{order}/coupons").status_code == 200]
    assert with_coupons
    validate("orders.v2.oas2.yml", bc.get("v2", f"/orders/{with_coupons[0]}/coupons"))


def test_cart_and_abandoned_cart_validate(bc, validate):
    cart_id = bc.sandbox.export("carts")[0]["id"]
    validate("carts.v3.yml", bc.get("v3", f"/carts/{cart_id}"))
    bc.sandbox.activity_maker.abandon_cart()
    token = next(cart.abandoned_token for cart in bc.sandbox.store.carts.values() if cart.abandoned_token)
    abandoned = bc.get("v3", f"/abandoned-carts/{token}")
    validate("abandoned_carts.v3.yml", abandoned)
    assert bc.get("v3", f"/carts/{abandoned.json()['data']['cart_id']}").status_code == 200


def test_hooks_crud_validates(bc, validate):
    hook = {"scope": "store/customer/*", "destination": "https://receiver.example/hooks", "is_active": True,
            "headers": {"X-Secret": "s3"}}
    created = bc.session.post(bc.api("v3") + "/hooks", json=hook)
    validate("webhooks.v3.yml", created)
    hook_id = created.json()["data"]["id"]
    validate("webhooks.v3.yml", bc.get("v3", "/hooks"))
    validate("webhooks.v3.yml", bc.get("v3", f"/hooks/{hook_id}"))
    updated = bc.session.put(bc.api("v3") + f"/hooks/{hook_id}", json={"is_active": False})
    validate("webhooks.v3.yml", updated)
    assert updated.json()["data"]["is_active"] is False
    validate("webhooks.v3.yml", bc.session.delete(bc.api("v3") + f"/hooks/{hook_id}"))
    assert bc.get("v3", f"/hooks/{hook_id}").status_code == 404


def test_not_found_bodies_validate(bc, validate):
    missing_product = bc.get("v3", "/catalog/products/999999")
    assert missing_product.status_code == 404
    validate("products_catalog.v3.yml", missing_product)
    missing_subscriber = bc.get("v3", "/customers/subscribers/999999")
    assert missing_subscriber.status_code == 404
    validate("subscribers.v3.yml", missing_subscriber)
    missing_order = bc.get("v2", "/orders/999999")
    assert missing_order.status_code == 404
    validate("orders.v2.oas2.yml", missing_order)
