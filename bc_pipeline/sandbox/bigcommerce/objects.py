"""API objects rendered from rows: v3 customers, subscribers, products and carts; v2 orders and their parts.

Generated values come from the row's own random stream; `row.fields` (loaded or edited values) override them; the
row's own attributes (email, dates, status ...) always win, because filters and sorting read those.
"""

from __future__ import annotations

from decimal import Decimal

from .formats import FOUR_PLACES, cents, iso_millis_z, iso_offset, iso_z, money, rfc2822
from .generator import CURRENCY_RATES
from .order_statuses import STATUS_NAMES
from .rows import CartRow, CustomerRow, OrderRow, ProductRow, SubscriberRow

CUSTOMER_INCLUDES = {"addresses": "addresses", "attributes": "attributes", "formfields": "form_fields",
                     "storecredit": "store_credit_amounts"}
PRODUCT_INCLUDES = ("images", "variants", "custom_fields")
TAX_RATE = Decimal("0.1")
NO_MONEY = money(0)
DECIMAL_RATES = {code: Decimal(str(rate)) for code, rate in CURRENCY_RATES.items()}


def _overlay(generated: dict, fields: dict | None) -> dict:
    for key, value in (fields or {}).items():
        if key not in generated:
            continue
        # A partial nested object (say, a billing address with only an email) keeps the other generated parts.
        both_objects = isinstance(value, dict) and isinstance(generated[key], dict)
        generated[key] = {**generated[key], **value} if both_objects else value
    return generated


def _address(store, customer: CustomerRow, index: int, rng) -> dict:
    place = rng.choice(store.generator.words.places)
    return {
        "id": customer.id * 10 + index, "customer_id": customer.id,
        "first_name": customer.first_name or "-", "last_name": customer.last_name or "-",
        "company": "", "address1": place.street, "address2": "", "city": place.city,
        "state_or_province": place.state, "postal_code": place.postal_code, "country": place.country,
        "country_code": place.country_code, "phone": f"+1 555 01{rng.randrange(100):02d}",
        "address_type": rng.choice(("residential", "residential", "commercial")), "form_fields": [],
    }


def _customer_collections(store, row: CustomerRow, rng) -> dict:
    addresses = [_address(store, row, index, rng) for index in range(rng.choice((0, 1, 1, 1, 2, 3)))]
    attributes = [] if rng.random() < 0.7 else [{
        "id": row.id, "attribute_id": 1, "attribute_value": rng.choice(("Yes", "No")), "customer_id": row.id,
        "date_created": iso_z(row.date_created), "date_modified": iso_z(row.date_modified)}]
    form_fields = [] if rng.random() < 0.8 else [
        {"name": "How did you hear about us?", "value": rng.choice(("Search", "Friend", "Ad")), "customer_id": row.id}]
    return {"addresses": addresses, "attributes": attributes, "form_fields": form_fields,
            "store_credit_amounts": [{"amount": 0}]}


def customer_v3(store, row: CustomerRow, includes=frozenset(CUSTOMER_INCLUDES)) -> dict:
    rng = store.generator.rng("customer", row.id)
    customer = _overlay({
        "id": row.id, "email": row.email, "first_name": row.first_name, "last_name": row.last_name,
        "company": rng.choice(store.generator.words.companies) if rng.random() < 0.2 else "",
        "phone": f"+1 555 {rng.randrange(1000, 9999)}",
        "registration_ip_address": f"10.0.{row.id % 250}.{row.id % 199}",
        "notes": "", "tax_exempt_category": "", "customer_group_id": 0 if rng.random() < 0.9 else 1,
        "date_created": iso_z(row.date_created), "date_modified": iso_z(row.date_modified),
        "authentication": {"force_password_reset": False},
        "accepts_product_review_abandoned_cart_emails": rng.random() < 0.5,
        "origin_channel_id": 1, "channel_ids": [1],
    }, row.fields)
    collections = _overlay(_customer_collections(store, row, rng), row.fields)
    customer["address_count"] = len(collections["addresses"])
    customer["attribute_count"] = len(collections["attributes"])
    for include, key in CUSTOMER_INCLUDES.items():
        if include in includes:
            customer[key] = collections[key]
    return customer


def subscriber_v3(row: SubscriberRow) -> dict:
    return {
        "id": row.id, "email": row.email, "first_name": row.first_name, "last_name": row.last_name,
        "source": row.source, "order_id": row.order_id, "channel_id": 1, "consents": list(row.consents),
        "date_created": iso_z(row.date_created), "date_modified": iso_z(row.date_modified),
    }


def _product_collections(row: ProductRow, rng) -> dict:
    image_base = f"https://cdn.sandbox.example/products/{row.id}"
    images = [{
        "id": row.id * 10 + index, "product_id": row.id, "is_thumbnail": index == 0, "sort_order": index,
        "image_url": f"{image_base}/{index}.jpg", "url_zoom": f"{image_base}/{index}-zoom.jpg",
        "url_standard": f"{image_base}/{index}-standard.jpg", "url_thumbnail": f"{image_base}/{index}-thumb.jpg",
        "url_tiny": f"{image_base}/{index}-tiny.jpg", "date_modified": iso_offset(row.date_modified),
    } for index in range(rng.randrange(0, 3))]
    price = row.price_cents / 100
    variants = [{
        "id": row.id, "product_id": row.id, "sku": f"SKU-{row.id:06d}", "sku_id": row.id, "price": price,
        "calculated_price": price, "sale_price": 0, "retail_price": 0, "map_price": 0, "weight": 1.0,
        "calculated_weight": 1.0, "width": 0, "height": 0, "depth": 0, "is_free_shipping": False,
        "fixed_cost_shipping_price": 0, "purchasing_disabled": False, "purchasing_disabled_message": "",
        "upc": "", "inventory_level": 0, "inventory_warning_level": 0, "bin_picking_number": "", "mpn": "",
        "gtin": "", "option_values": [],
    }]
    custom_fields = [] if rng.random() < 0.7 else [
        {"id": row.id, "name": "Origin", "value": rng.choice(("Portugal", "Japan", "Poland", "Mexico"))}]
    return {"images": images, "variants": variants, "custom_fields": custom_fields}


def product_v3(store, row: ProductRow, includes=frozenset(PRODUCT_INCLUDES)) -> dict:
    rng = store.generator.rng("product-details", row.id)
    price = row.price_cents / 100
    # A few products carry a 100 KB description, as real catalogues do.
    long_description = rng.random() < 0.005
    description = "<p>" + ("Lorem ipsum dolor sit amet. " * 3700 if long_description else f"The {row.name}.") + "</p>"
    product = _overlay({
        "id": row.id, "name": row.name, "type": "physical", "sku": f"SKU-{row.id:06d}", "description": description,
        "weight": 1.0, "width": 0, "depth": 0, "height": 0, "price": price, "cost_price": round(price * 0.5, 2),
        "retail_price": 0, "sale_price": 0, "map_price": 0, "tax_class_id": 0, "product_tax_code": "",
        "calculated_price": price, "categories": [1 + row.id % 12], "brand_id": 1 + row.id % 8,
        "option_set_id": None, "option_set_display": "right",
        "inventory_level": rng.randrange(0, 500), "inventory_warning_level": 0, "inventory_tracking": "none",
        "reviews_rating_sum": 0, "reviews_count": 0, "total_sold": rng.randrange(0, 1000),
        "fixed_cost_shipping_price": 0, "is_free_shipping": False, "is_visible": row.is_visible,
        "is_featured": False, "related_products": [-1], "warranty": "", "bin_picking_number": "", "layout_file": "",
        "upc": "", "mpn": "", "gtin": "", "date_last_imported": "", "search_keywords": "", "availability": "available",
        "availability_description": "", "gift_wrapping_options_type": "any", "gift_wrapping_options_list": [],
        "sort_order": 0, "condition": "New", "is_condition_shown": False, "order_quantity_minimum": 0,
        "order_quantity_maximum": 0, "page_title": "", "meta_keywords": [], "meta_description": "",
        "date_created": iso_offset(row.date_created), "date_modified": iso_offset(row.date_modified),
        "view_count": rng.randrange(0, 5000), "preorder_release_date": None, "preorder_message": "",
        "is_preorder_only": False, "is_price_hidden": False, "price_hidden_label": "",
        "custom_url": {"url": f"/products/{row.id}/", "is_customized": False},
        "base_variant_id": row.id, "open_graph_type": "product", "open_graph_title": "",
        "open_graph_description": "", "open_graph_use_meta_description": True, "open_graph_use_product_name": True,
        "open_graph_use_image": True,
    }, row.fields)
    if product["option_set_id"] is None:
        del product["option_set_id"]
    collections = _overlay(_product_collections(row, rng), row.fields)
    for include in PRODUCT_INCLUDES:
        if include in includes:
            product[include] = collections[include]
    return product


def _line_item(order: OrderRow, index: int, product_id: int, name: str, sku: str, unit: Decimal,
               quantity: int) -> dict:
    tax = (unit * TAX_RATE).quantize(FOUR_PLACES)
    total, total_tax = unit * quantity, tax * quantity
    price, total_ex_tax, total_inc_tax, cost = money(unit), money(total), money(total + total_tax), money(unit / 2)
    return {
        "id": order.id * 1000 + index, "order_id": order.id, "product_id": product_id, "variant_id": product_id,
        "order_address_id": order.id, "name": name, "name_customer": name, "name_merchant": name, "sku": sku,
        "upc": "", "type": "physical", "base_price": price, "price_ex_tax": price,
        "price_inc_tax": money(unit + tax), "price_tax": money(tax), "base_total": total_ex_tax,
        "total_ex_tax": total_ex_tax, "total_inc_tax": total_inc_tax, "total_tax": money(total_tax),
        "quantity": quantity, "base_cost_price": cost, "cost_price_inc_tax": cost,
        "cost_price_ex_tax": cost, "cost_price_tax": NO_MONEY, "weight": "1.0000", "width": "0.0000",
        "height": "0.0000", "depth": "0.0000", "is_refunded": False, "quantity_refunded": 0, "refund_amount": NO_MONEY,
        "return_id": 0, "wrapping_id": 0, "wrapping_name": None, "base_wrapping_cost": NO_MONEY,
        "wrapping_cost_ex_tax": NO_MONEY, "wrapping_cost_inc_tax": NO_MONEY, "wrapping_cost_tax": NO_MONEY,
        "wrapping_message": "", "quantity_shipped": 0, "event_name": None, "event_date": None,
        "fixed_shipping_cost": NO_MONEY, "ebay_item_id": "", "ebay_transaction_id": "", "option_set_id": None,
        "parent_order_product_id": None, "is_bundled_product": False, "bin_picking_number": "", "external_id": None,
        "brand": "", "applied_discounts": [], "product_options": [], "configurable_fields": [],
        "gift_certificate_id": None, "discounted_total_inc_tax": total_inc_tax,
    }


def _generated_line_items(store, order: OrderRow) -> list[dict]:
    generator = store.generator
    rng = generator.rng("order", order.id)
    rate = DECIMAL_RATES[generator.order_currency(order.id)[0]]
    product_range = max(1, store.generated_products)
    items = []
    for index in range(generator.line_item_count(rng)):
        product_id = 1 + rng.randrange(product_range)
        name, price_cents, sku = generator.product_identity(product_id)
        quantity = 1 + min(9, int(rng.expovariate(1.5)))
        items.append(_line_item(order, index, product_id, name, sku, cents(price_cents) * rate, quantity))
    return items


def order_line_items(store, order: OrderRow) -> list[dict]:
    if order.line_items is None:
        return _generated_line_items(store, order)
    return [_loaded_line_item(order, index, item) for index, item in enumerate(order.line_items)]


def _loaded_line_item(order: OrderRow, index: int, item: dict) -> dict:
    unit = Decimal(str(item.get("price_ex_tax", item.get("base_price", "0"))))
    defaults = _line_item(order, index, int(item.get("product_id", 0)), str(item.get("name", "")),
                          str(item.get("sku", "")), unit, int(item.get("quantity", 1)))
    return {**defaults, **{key: value for key, value in item.items() if key in defaults}, "order_id": order.id}


def order_email(store, order: OrderRow) -> str:
    return _overlay({"billing_address": _billing_address(store, order)}, order.fields)["billing_address"]["email"]


def _billing_address(store, order: OrderRow) -> dict:
    generator = store.generator
    rng = generator.rng("order-billing", order.id)
    buyer = store.buyer_identity(order.customer_id) if order.customer_id else None
    if buyer is not None:
        first, last, email = buyer
    else:
        first, last, email = generator.person(rng, 500_000_000 + order.id, allow_empty=True)
        if store.config.customers and rng.random() < 0.03:
            # A guest who also has an account, typing the email in another case. Drawn from the generated
            # customers, whose count never changes, so the order renders the same however the store changes.
            twin = store.buyer_identity(1 + rng.randrange(store.config.customers))
            email = twin[2].upper() if twin else email
    place = rng.choice(generator.words.places)
    return {
        "first_name": first, "last_name": last, "company": "", "street_1": place.street, "street_2": "",
        "city": place.city, "state": place.state, "zip": place.postal_code, "country": place.country,
        "country_iso2": place.country_code, "phone": "", "email": email, "form_fields": [],
    }


def _link(base_url: str, store_hash: str, resource: str) -> dict:
    return {"url": f"{base_url}/stores/{store_hash}/v2{resource}", "resource": resource}


def _order_totals(items: list[dict], shipping: Decimal) -> dict:
    subtotal_ex = sum((Decimal(item["total_ex_tax"]) for item in items), Decimal(0))
    subtotal_tax = sum((Decimal(item["total_tax"]) for item in items), Decimal(0))
    shipping_cost = money(shipping)
    return {
        "subtotal_ex_tax": money(subtotal_ex), "subtotal_inc_tax": money(subtotal_ex + subtotal_tax),
        "subtotal_tax": money(subtotal_tax), "base_shipping_cost": shipping_cost,
        "shipping_cost_ex_tax": shipping_cost, "shipping_cost_inc_tax": shipping_cost,
        "shipping_cost_tax": NO_MONEY, "total_ex_tax": money(subtotal_ex + shipping),
        "total_inc_tax": money(subtotal_ex + subtotal_tax + shipping), "total_tax": money(subtotal_tax),
        "items_total": sum(item["quantity"] for item in items),
    }


def line_item_links(store, order: OrderRow, base_url: str) -> list[dict]:
    return [_link(base_url, store.config.store_hash, f"/orders/{order.id}/products/{item['id']}")
            for item in order_line_items(store, order)]


def order_v2(store, order: OrderRow, base_url: str, consignment_line_items: list[dict] | None = None,
             line_items: list[dict] | None = None) -> dict:
    """The v2 order; with `consignment_line_items` (order products, or links to them) the consignments are
    inlined as `include=consignments[.line_items]&consignment_structure=object` does.

    Otherwise the order carries no `consignments` key: the spec's oneOf between the link object and the
    consignment object matches any object twice, so leaving the key out is the only spec-valid choice.
    `line_items`, when the caller already has them, saves rendering them again for the totals.
    """
    generator = store.generator
    rng = generator.rng("order-header", order.id)
    currency_code, currency_id, exchange_rate = generator.order_currency(order.id)
    items = line_items if line_items is not None else order_line_items(store, order)
    billing = _billing_address(store, order)
    hash_ = store.config.store_hash
    payment_status = "" if order.status_id == 0 else ("refunded" if order.status_id == 4 else "captured")
    rendered = {
        "id": order.id, "customer_id": order.customer_id, "status_id": order.status_id,
        "status": STATUS_NAMES.get(order.status_id, "Pending"),
        "date_created": rfc2822(order.date_created), "date_modified": rfc2822(order.date_modified),
        "date_shipped": rfc2822(order.date_modified) if order.status_id in (2, 10) else "",
        "cart_id": "", "channel_id": 1, "order_source": "www", "external_source": None, "external_id": None,
        "external_merchant_id": None, "external_order_id": "", "customer_locale": "en",
        "is_deleted": order.is_deleted, "is_email_opt_in": rng.random() < 0.4,
        **_order_totals(items, cents(rng.choice((0, 0, 499, 999)))),
        "base_handling_cost": NO_MONEY, "handling_cost_ex_tax": NO_MONEY, "handling_cost_inc_tax": NO_MONEY,
        "handling_cost_tax": NO_MONEY, "handling_cost_tax_class_id": 2, "base_wrapping_cost": NO_MONEY,
        "wrapping_cost_ex_tax": NO_MONEY, "wrapping_cost_inc_tax": NO_MONEY, "wrapping_cost_tax": NO_MONEY,
        "wrapping_cost_tax_class_id": 3, "shipping_cost_tax_class_id": 2, "discount_amount": NO_MONEY,
        "coupon_discount": NO_MONEY, "store_credit_amount": NO_MONEY, "gift_certificate_amount": NO_MONEY,
        "refunded_amount": NO_MONEY, "items_shipped": 0, "payment_method": "Credit Card",
        "payment_provider_id": "", "payment_status": payment_status, "currency_id": currency_id,
        "currency_code": currency_code, "currency_exchange_rate": exchange_rate, "default_currency_id": currency_id,
        "default_currency_code": currency_code, "store_default_currency_code": "USD",
        "store_default_to_transactional_exchange_rate": exchange_rate, "ip_address": "10.1.2.3", "ip_address_v6": "",
        "geoip_country": billing["country"], "geoip_country_iso2": billing["country_iso2"], "staff_notes": "",
        "customer_message": "", "order_is_digital": False, "shipping_address_count": 1,
        "is_tax_inclusive_pricing": False, "tax_provider_id": "BasicTaxProvider", "ebay_order_id": "0",
        "billing_address": billing,
        "products": _link(base_url, hash_, f"/orders/{order.id}/products"),
        "shipping_addresses": _link(base_url, hash_, f"/orders/{order.id}/shipping_addresses"),
        "coupons": _link(base_url, hash_, f"/orders/{order.id}/coupons"),
    }
    rendered = _overlay(rendered, order.fields)
    if consignment_line_items is not None:
        rendered["consignments"] = _consignments(order, rendered["billing_address"], rendered,
                                                 consignment_line_items)
    return rendered


def _consignments(order: OrderRow, billing: dict, rendered: dict, line_items: list[dict]) -> dict:
    shipping = {
        "id": order.id, **billing, "shipping_method": "Flat Rate",
        "line_items": line_items, "items_total": rendered["items_total"], "items_shipped": 0,
        "base_cost": float(rendered["base_shipping_cost"]), "cost_ex_tax": float(rendered["shipping_cost_ex_tax"]),
        "cost_inc_tax": float(rendered["shipping_cost_inc_tax"]), "cost_tax": 0, "cost_tax_class_id": 2,
        "base_handling_cost": 0, "handling_cost_ex_tax": 0, "handling_cost_inc_tax": 0, "handling_cost_tax": 0,
        "handling_cost_tax_class_id": 2, "shipping_zone_id": 1, "shipping_zone_name": billing["country"],
    }
    return {"pickups": [], "shipping": [shipping], "downloads": [], "email": {"gift_certificates": []}}


def order_shipping_addresses(store, order: OrderRow, base_url: str) -> list[dict]:
    rendered = order_v2(store, order, base_url)
    billing = rendered["billing_address"]
    return [{
        "id": order.id, "order_id": order.id, **billing, "items_total": rendered["items_total"], "items_shipped": 0,
        "shipping_method": "Flat Rate", "base_cost": rendered["base_shipping_cost"],
        "cost_ex_tax": rendered["shipping_cost_ex_tax"], "cost_inc_tax": rendered["shipping_cost_inc_tax"],
        "cost_tax": NO_MONEY, "cost_tax_class_id": 2, "base_handling_cost": NO_MONEY,
        "handling_cost_ex_tax": NO_MONEY, "handling_cost_inc_tax": NO_MONEY, "handling_cost_tax": NO_MONEY,
        "handling_cost_tax_class_id": 2, "shipping_zone_id": 1, "shipping_zone_name": billing["country"],
        "shipping_quotes": _link(base_url, store.config.store_hash,
                                 f"/orders/{order.id}/shipping_addresses/{order.id}/shipping_quotes"),
    }]


def order_coupons(store, order: OrderRow) -> list[dict]:
    rng = store.generator.rng("order-coupon", order.id)
    if rng.random() >= 0.1:
        return []
    return [{"id": order.id, "coupon_id": 1 + rng.randrange(20), "order_id": order.id, "code": "WELCOME10",
             "amount": "10.0000", "type": 1, "discount": 0}]


def customer_v2(store, row: CustomerRow) -> dict:
    rendered = customer_v3(store, row, includes=frozenset())
    return {
        "id": row.id, "company": rendered["company"], "first_name": row.first_name, "last_name": row.last_name,
        "email": row.email, "phone": rendered["phone"], "form_fields": None,
        "date_created": rfc2822(row.date_created), "date_modified": rfc2822(row.date_modified),
        "store_credit": "0.0000", "registration_ip_address": rendered["registration_ip_address"],
        "customer_group_id": rendered["customer_group_id"], "notes": "", "tax_exempt_category": "",
        "reset_pass_on_login": False, "accepts_marketing": False,
        "addresses": {"url": f"{store.base_url}/stores/{store.config.store_hash}/v2/customers/{row.id}/addresses",
                      "resource": f"/customers/{row.id}/addresses"},
    }


def cart_v3(store, cart: CartRow) -> dict:
    physical = []
    amount = Decimal(0)
    for index, (product_id, quantity) in enumerate(cart.items):
        product = store.products.get(product_id)
        name, price_cents, sku = (product.name, product.price_cents, f"SKU-{product_id:06d}") if product else \
            store.generator.product_identity(product_id)
        price = float(cents(price_cents))
        amount += cents(price_cents) * quantity
        physical.append({
            "id": f"{cart.id[:8]}-{index}", "variant_id": product_id, "product_id": product_id,
            "sku": sku, "name": name, "url": f"{store.config.store_url}/products/{product_id}/", "quantity": quantity,
            "is_taxable": True, "image_url": f"https://cdn.sandbox.example/products/{product_id}/0.jpg",
            "discounts": [], "coupons": [], "discount_amount": 0, "coupon_amount": 0, "original_price": price,
            "list_price": price, "sale_price": price, "extended_list_price": round(price * quantity, 2),
            "extended_sale_price": round(price * quantity, 2), "is_require_shipping": True, "is_mutable": True,
        })
    return {
        "id": cart.id, "customer_id": cart.customer_id, "email": cart.email, "channel_id": 1,
        "currency": {"code": cart.currency}, "tax_included": False, "base_amount": float(amount),
        "discount_amount": 0, "manual_discount_amount": 0, "cart_amount": float(amount), "coupons": [],
        "discounts": [], "line_items": {"physical_items": physical, "digital_items": [], "gift_certificates": [],
                                        "custom_items": []},
        "created_time": iso_millis_z(cart.date_created), "updated_time": iso_millis_z(cart.date_modified),
        "locale": "en", "version": 1,
    }


def store_information(config, store_id: str) -> dict:
    domain = config.store_url.split("://", 1)[-1]
    return {
        "id": config.store_hash, "account_uuid": "00000000-0000-4000-8000-000000000001", "domain": domain,
        "secure_url": config.store_url, "control_panel_base_url": config.store_url, "status": "live",
        "name": config.store_name, "first_name": "Sandy", "last_name": "Box", "address": "1 Loopback Way",
        "country": "United States", "country_code": "US", "infrastructure_region": "us-central1",
        "phone": "", "admin_email": f"admin@{domain}", "order_email": f"orders@{domain}", "favicon_url": "",
        "timezone": {"name": "Etc/UTC", "raw_offset": 0, "dst_offset": 0, "dst_correction": False,
                     "date_format": {"display": "jS M Y", "export": "M jS Y", "extended_display": "M jS Y @ g:i A"}},
        "language": "en", "currency": "USD", "currency_symbol": "$", "decimal_separator": ".",
        "thousands_separator": ",", "decimal_places": 2, "currency_symbol_location": "left",
        "weight_units": "kg", "dimension_units": "Centimeters", "dimension_decimal_places": 2,
        "dimension_decimal_token": ".", "dimension_thousands_token": ",", "plan_name": "Standard",
        "plan_level": "Standard", "plan_is_trial": False, "industry": "", "logo": [],
        "is_price_entered_with_tax": False, "store_id": int(store_id), "default_channel_id": 1,
        "default_site_id": 1, "active_comparison_modules": [],
        "features": {"stencil_enabled": True, "sitewidehttps_enabled": True, "facebook_catalog_id": "",
                     "checkout_type": "optimized", "wishlists_enabled": False,
                     "graphql_storefront_api_enabled": True, "shopper_consent_tracking_enabled": False,
                     "multi_storefront_enabled": False},
    }
