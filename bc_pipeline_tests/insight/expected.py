"""What dotmailer's `Orders` and `Catalog_Default` should hold, worked out in plain Python from the sandbox store.

Written independently of the SQL transforms so that a mistake in one shows up against the other.
"""

import html
import re
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime

from bc_pipeline.sandbox.bigcommerce import objects
from bc_pipeline_tests.pipeline.expected import INCOMPLETE, PLAUSIBLE_EMAIL, key, store_contacts


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _money(value) -> float:
    return float(Decimal(str(value or 0)))


def _categories(ids) -> list[dict]:
    return [{"Id": str(category)} for category in ids or []]


def _address(prefix: str, address: dict) -> dict:
    return {
        f"{prefix}_address_1": address.get("street_1") or "",
        f"{prefix}_address_2": address.get("street_2") or "",
        f"{prefix}_city": address.get("city") or "",
        f"{prefix}_region": address.get("state") or "",
        f"{prefix}_country": address.get("country_iso2") or "",
        f"{prefix}_postcode": address.get("zip") or "",
    }


def _shipping_address(bigcommerce, order_id: int) -> dict:
    """What GET /v2/orders/{id}/shipping_addresses serves: the order's first shipping address."""
    store = bigcommerce.store
    with store.lock:
        addresses = objects.order_shipping_addresses(store, store.orders.get(order_id), store.base_url)
    return addresses[0] if addresses else {}


def orders_collection(bigcommerce, rejected_email_keys: set[str]) -> dict[str, dict]:
    """key -> {"email_key", "json"} for every completed, unarchived order of a contact dotmailer accepts."""
    customers = {c["id"]: c for c in bigcommerce.export("customers")}
    contacts = store_contacts(bigcommerce)
    categories = {p["id"]: p["categories"] for p in bigcommerce.export("products")}
    expected = {}
    for order in bigcommerce.export("orders"):
        if order["status_id"] == INCOMPLETE or order["is_deleted"]:
            continue
        customer = customers.get(order["customer_id"]) if order["customer_id"] else None
        email = (customer["email"] if customer else order["billing_address"].get("email")) or ""
        # An order whose email no contact has (a deleted customer's falling back to billing) is rejected.
        if key(email) not in contacts or not PLAUSIBLE_EMAIL.fullmatch(key(email)) or key(email) in rejected_email_keys:
            continue
        lines = sorted(order["line_items"], key=lambda line: line["id"])
        coupons = sorted({d["code"] for line in lines for d in line["applied_discounts"] if d.get("code")})
        shipping = _shipping_address(bigcommerce, order["id"])
        expected[str(order["id"])] = {
            "email_key": key(email),
            "json": {
                "id": str(order["id"]),
                "storeName": bigcommerce.config.store_name,
                "purchaseDate": _iso(parsedate_to_datetime(order["date_created"])),
                "orderStatus": order["status"],
                "currency": order["currency_code"],
                "orderSubtotal": _money(order["subtotal_ex_tax"]),
                "discountAmount": float(Decimal(order["discount_amount"]) + Decimal(order["coupon_discount"])),
                "deliveryTotal": _money(order["shipping_cost_inc_tax"]),
                "orderTotal": _money(order["total_inc_tax"]),
                "payment": order["payment_method"],
                "deliveryMethod": shipping.get("shipping_method") or "",
                "couponCode": ",".join(coupons),
                "billingAddress": _address("billing", order["billing_address"]),
                "deliveryAddress": _address("delivery", shipping),
                "products": [
                    {
                        "product_id": str(line["product_id"]) if line["product_id"] else "",
                        "name": line["name"],
                        "sku": line["sku"],
                        "qty": line["quantity"],
                        "price": _money(line["price_ex_tax"]),
                        "price_inc_tax": _money(line["price_inc_tax"]),
                        "categories": _categories(categories.get(line["product_id"])),
                    }
                    for line in lines
                ],
            },
        }
    return expected


def plain_text(description: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</(script|style)\s*>", " ", description or "")
    text = html.unescape(re.sub(r"<[^>]*>", " ", text)).replace("\xa0", " ")
    return re.sub(r"\s+", " ", text).strip()


def _image(images: list[dict]) -> str:
    thumbnail = next((image for image in images if image.get("is_thumbnail")), None)
    chosen = thumbnail or (images[0] if images else {})
    return chosen.get("url_standard") or ""


def catalog_collection(bigcommerce) -> dict[str, dict]:
    """key -> json for every visible product."""
    base_url = bigcommerce.config.store_url.rstrip("/")
    return {
        str(product["id"]): {
            "id": str(product["id"]),
            "name": product["name"],
            "sku": product["sku"],
            "type": product["type"],
            "price": _money(product["price"]),
            "specialPrice": _money(product["sale_price"]),
            "url": f"{base_url}/{product['custom_url']['url'].lstrip('/')}",
            "imagePath": _image(product["images"]),
            "categories": _categories(product["categories"]),
            "brand": {"Id": str(product["brand_id"]) if product["brand_id"] else ""},
            "stock": product["inventory_level"],
            "description": plain_text(product["description"])[:1000],
            "created_date": _iso(datetime.fromisoformat(product["date_created"])),
        }
        for product in bigcommerce.export("products")
        if product["is_visible"]
    }


def json_types(value, path: str = "", found: dict | None = None) -> dict[str, set[str]]:
    """Every field path of a record with the JSON types seen there; list elements share one path."""
    found = {} if found is None else found
    kind = {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object",
            type(None): "null"}[type(value)]
    found.setdefault(path, set()).add(kind)
    if isinstance(value, dict):
        for name, child in value.items():
            json_types(child, f"{path}.{name}", found)
    elif isinstance(value, list):
        for element in value:
            json_types(element, f"{path}[]", found)
    return found
