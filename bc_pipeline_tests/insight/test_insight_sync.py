"""Orders and catalogue in dotmailer Insight after whole syncs against both sandboxes."""

from bc_pipeline_tests.insight.conftest import (
    collection,
    insight_import_requests,
    rejected_email_keys,
    warehouse,
    write_settings,
)
from bc_pipeline_tests.insight.expected import catalog_collection, json_types, orders_collection
from bc_pipeline_tests.pipeline.expected import key

# Dated in the past, so the first sync reads them (the extractor leaves the last seconds to the next one).
LOADED_AT = "2026-01-02T03:04:05Z"

ODD_PRODUCTS = [
    {"id": 901, "date_created": LOADED_AT, "name": "Gift card ✨", "sku": "", "is_visible": True, "price": 25,
     "sale_price": 19.5, "categories": [], "brand_id": 0, "inventory_level": 0,
     "custom_url": {"url": "gift-card/", "is_customized": True},
     "description": "<style>p {color: red}</style><p>Fish &amp; chips</p>" + "<div>lorem&nbsp;ipsum </div>" * 4000,
     "images": [{"id": 1, "url_standard": "https://cdn.example/a.jpg", "is_thumbnail": False},
                {"id": 2, "url_standard": "https://cdn.example/b.jpg", "is_thumbnail": True}]},
    {"id": 902, "date_created": LOADED_AT, "name": "Hidden", "is_visible": False, "price": 5},
]


def _guest_order(products: list[dict]) -> dict:
    lines = [{"product_id": p["id"], "name": p["name"], "sku": p["sku"], "price_ex_tax": "1.5000", "quantity": 2,
              "applied_discounts": [{"id": "coupon", "amount": "0.1000", "name": "Spring", "code": "SPRING10",
                                     "target": "order"}] if i == 0 else []}
             for i, p in enumerate(products * 15)]
    return {"id": 9001, "date_created": LOADED_AT, "customer_id": 0, "status_id": 11, "line_items": lines,
            "discount_amount": "1.2500", "coupon_discount": "0.1000",
            "billing_address": {"first_name": "", "last_name": "", "company": "", "street_1": "1 Rue", "street_2": "",
                                "city": "Paris", "state": "", "zip": "75001", "country": "France",
                                "country_iso2": "FR", "phone": "", "email": "  Guest.Buyer@Example.COM ",
                                "form_fields": []}}


def assert_converged(sandboxes) -> None:
    orders = collection(sandboxes.dotmailer, "Orders")
    expected_orders = orders_collection(sandboxes.bigcommerce, rejected_email_keys())
    assert set(orders) == set(expected_orders)
    for order_key, record in orders.items():
        expected = expected_orders[order_key]
        assert key(record["contactIdentity"]["value"]) == expected["email_key"]
        # A copy: the sandbox's state shares its stored records.
        record_json = dict(record["json"])
        assert key(record_json.pop("email")) == expected["email_key"]
        assert record_json == expected["json"], order_key
    catalog = collection(sandboxes.dotmailer, "Catalog_Default")
    assert {k: r["json"] for k, r in catalog.items()} == catalog_collection(sandboxes.bigcommerce)


def assert_types_stable(records: list[dict]) -> None:
    types: dict[str, set[str]] = {}
    for record in records:
        for path, kinds in json_types(record["json"]).items():
            types.setdefault(path, set()).update(kinds)
    assert {path: kinds for path, kinds in types.items() if len(kinds) > 1 or "null" in kinds} == {}


def test_insight_converges_sends_only_changes_and_removes_what_left(sandboxes, sync):
    products = sandboxes.bigcommerce.export("products")
    sandboxes.bigcommerce.load({"products": ODD_PRODUCTS, "orders": [_guest_order(products[:20])]})

    first = sync()

    assert_converged(sandboxes)
    state = sandboxes.dotmailer.state()["insight"]
    for name in ("Orders", "Catalog_Default"):
        assert_types_stable(state[name])
    guest = collection(sandboxes.dotmailer, "Orders")["9001"]
    assert guest["contactIdentity"]["value"] == "Guest.Buyer@Example.COM"
    assert guest["json"]["couponCode"] == "SPRING10" and len(guest["json"]["products"]) == 300
    gift_card = collection(sandboxes.dotmailer, "Catalog_Default")["901"]["json"]
    assert gift_card["description"].startswith("Fish & chips lorem ipsum") and len(gift_card["description"]) == 1000
    assert gift_card["imagePath"] == "https://cdn.example/b.jpg"
    assert first.orders["insight_enabled"] and first.orders["failed"] == 0 and first.orders["import_ids"]
    # The loads run under their own lower cap (96MB, which DuckDB reports in MiB).
    assert first.orders["duckdb_memory_limit"] == first.catalog["duckdb_memory_limit"] == "91.5 MiB"

    imports_before = insight_import_requests(sandboxes.dotmailer)
    second = sync()
    assert (second.orders["sent"], second.catalog["sent"]) == (0, 0)
    assert insight_import_requests(sandboxes.dotmailer) == imports_before

    sent_orders = collection(sandboxes.dotmailer, "Orders")
    orders = [o for o in sandboxes.bigcommerce.export("orders") if str(o["id"]) in sent_orders]
    archived, hidden, repriced = orders[0], products[1], products[2]
    changed_at = sync.change_time()
    sandboxes.bigcommerce.load({
        "orders": [{**archived, "is_deleted": True, "date_modified": changed_at}],
        "products": [{**hidden, "is_visible": False, "date_modified": changed_at},
                     {**repriced, "price": repriced["price"] + 1, "date_modified": changed_at}],
    })

    third = sync()

    assert str(archived["id"]) not in collection(sandboxes.dotmailer, "Orders")
    assert str(hidden["id"]) not in collection(sandboxes.dotmailer, "Catalog_Default")
    assert (third.orders["sent"], third.orders["deleted"]) == (0, 1)
    assert (third.catalog["sent"], third.catalog["deleted"]) == (1, 1)
    assert_converged(sandboxes)


def test_insight_switched_off_keeps_contacts_flowing_and_catches_up(sandboxes, sync):
    sandboxes.dotmailer.set_feature(insight=False)

    off = sync()

    assert off.orders["insight_enabled"] is False and off.catalog["insight_enabled"] is False
    assert off.summary.loads["customers_book"]["contacts_sent"] > 0
    assert sandboxes.dotmailer.state()["insight"] == {}

    sandboxes.dotmailer.set_feature(insight=True)
    on = sync()

    assert on.orders["insight_enabled"] and on.catalog["insight_enabled"]
    assert_converged(sandboxes)


def test_orders_of_a_missing_contact_are_retried_once_it_exists(sandboxes, sync):
    write_settings("history_start_date: 2020-01-01\ncustomers_address_book: none\n")

    first = sync()

    assert first.orders["failure_reasons"].get("ContactEmailDoesNotExist", 0) > 0
    with warehouse() as conn:
        missing = conn.execute(
            "SELECT count(*) FROM dotmailer.insight_failures WHERE reason = 'ContactEmailDoesNotExist'").fetchone()[0]
    assert missing == first.orders["failed"]

    write_settings("history_start_date: 2020-01-01\n")
    second = sync()

    assert second.orders["sent"] == missing and second.orders["failed"] == 0
    assert_converged(sandboxes)
    with warehouse() as conn:
        assert conn.execute("SELECT count(*) FROM dotmailer.insight_failures").fetchone()[0] == 0
