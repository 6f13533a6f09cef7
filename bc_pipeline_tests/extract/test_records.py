"""Records that are easy to get wrong: guests, huge orders, odd dates, hidden products, withdrawn consent."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from bc_pipeline.warehouse import rfc2822, run_sql
from bc_pipeline_tests.extract.conftest import assert_matches_store, sync

GUEST_ORDER = {
    "id": 90001, "customer_id": 0, "status_id": 11,
    "date_created": "Mon, 01 Jan 2024 00:00:00 +0000", "date_modified": "Mon, 01 Jan 2024 00:00:00 +0000",
    "billing_address": {"first_name": "Gus", "last_name": "Guest", "email": "Gus.Guest@Example.org"},
    "line_items": [{"product_id": 1, "name": "Thing", "sku": "T-1", "price_ex_tax": "12.3450", "quantity": 2}],
}
BIG_ORDER = {
    "id": 90002, "customer_id": 1, "status_id": 10,
    "date_created": "Thu, 29 Feb 2024 23:59:59 -0500", "date_modified": "Thu, 29 Feb 2024 23:59:59 -0500",
    "line_items": [
        {"product_id": 1 + index % 40, "name": f"Line {index}", "sku": f"L-{index}", "price_ex_tax": "1.0100",
         "quantity": 1 + index % 3}
        for index in range(300)
    ],
}
YEAR_END_ORDER = {
    "id": 90003, "customer_id": 0, "status_id": 2,
    "date_created": "Sun, 31 Dec 2023 23:59:59 +1400", "date_modified": "Tue, 31 Dec 2024 23:59:59 -1200",
    "billing_address": {"email": "year.end@example.org"},
    "line_items": [{"product_id": 2, "name": "Late", "price_ex_tax": "0.0001", "quantity": 1}],
}
HIDDEN_PRODUCT = {"id": 7001, "name": "Hidden thing", "price": 19.99, "is_visible": False,
                  "categories": [3, 5], "custom_url": {"url": "/hidden-thing/", "is_customized": False}}
SUBSCRIBER = {"id": 8001, "email": "opt.in@example.org", "consents": ["marketing_newsletter"], "source": "storefront"}


@pytest.fixture
def loaded_store(bc_store, warehouse):
    store = bc_store()
    store.sandbox.load({"orders": [GUEST_ORDER, BIG_ORDER, YEAR_END_ORDER], "products": [HIDDEN_PRODUCT],
                        "subscribers": [SUBSCRIBER]})
    client = store.client()
    sync(store, client, warehouse)
    return store, client


def test_guest_orders_carry_the_billing_email(loaded_store, warehouse):
    rows = run_sql(warehouse, "SELECT customer_id, billing_email, total_inc_tax FROM bigcommerce.orders WHERE id = 90001")
    expected_total = Decimal(loaded_store[0].expected("orders")[90001]["total_inc_tax"])
    assert rows == [(0, "Gus.Guest@Example.org", expected_total)]
    guests_without_email = run_sql(
        warehouse, "SELECT count(*) FROM bigcommerce.orders WHERE customer_id = 0 AND coalesce(billing_email, '') = ''"
    )
    assert guests_without_email == [(0,)]


def test_a_300_line_order_arrives_whole_in_one_request_per_page(loaded_store, warehouse):
    store, _ = loaded_store
    lines = run_sql(warehouse, "SELECT count(*), count(DISTINCT id) FROM bigcommerce.order_line_items WHERE order_id = 90002")
    assert lines == [(300, 300)]
    assert not any("/products" in route for route in store.sandbox.stats()["requests"] if "orders" in route)
    assert_matches_store(store, warehouse, streams=("orders",))


def test_line_item_money_is_exact_decimal(loaded_store, warehouse):
    rows = run_sql(warehouse, "SELECT price_ex_tax, quantity FROM bigcommerce.order_line_items WHERE order_id = 90003")
    assert rows == [(Decimal("0.0001"), 1)]
    column_type = run_sql(
        warehouse,
        "SELECT data_type FROM information_schema.columns WHERE table_schema = 'bigcommerce' "
        "AND table_name = 'orders' AND column_name = 'total_inc_tax'",
    )
    assert column_type == [("DECIMAL(18,4)",)]


def test_rfc2822_dates_become_utc_instants(loaded_store, warehouse):
    rows = dict(
        (row[0], row[1:]) for row in run_sql(warehouse, "SELECT id, date_created, date_modified FROM bigcommerce.orders WHERE id IN (90002, 90003)")
    )
    assert rows[90002] == (datetime(2024, 3, 1, 4, 59, 59, tzinfo=timezone.utc),) * 2
    assert rows[90003] == (
        datetime(2023, 12, 31, 9, 59, 59, tzinfo=timezone.utc),
        datetime(2025, 1, 1, 11, 59, 59, tzinfo=timezone.utc),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Wed, 10 Jan 2018 21:05:30 +0000", datetime(2018, 1, 10, 21, 5, 30, tzinfo=timezone.utc)),
        ("Tue, 1 Jan 2019 00:00:00 -0400", datetime(2019, 1, 1, 4, 0, 0, tzinfo=timezone.utc)),
        ("1 Jan 2019 00:00:00 +0530", datetime(2018, 12, 31, 18, 30, 0, tzinfo=timezone.utc)),
        ("Tue, 01 Jan 2019 00:00:00 GMT", datetime(2019, 1, 1, 0, 0, 0, tzinfo=timezone.utc)),
        ("Sun, 31 Mar 2024 01:30:00 +0100", datetime(2024, 3, 31, 0, 30, 0, tzinfo=timezone.utc)),
        ("", None),
    ],
)
def test_rfc2822_parsing_in_duckdb(warehouse, text, expected):
    parsed = run_sql(warehouse, f"SELECT {rfc2822('d')} FROM (SELECT [?] AS fields)".replace("{{json:d}}", "fields[1]"), [text])
    assert parsed == [(expected,)]


def test_hidden_products_are_kept_with_is_visible_false(loaded_store, warehouse):
    rows = run_sql(
        warehouse, "SELECT is_visible, categories, custom_url, price FROM bigcommerce.products WHERE id = 7001"
    )
    assert rows == [(False, [3, 5], "/hidden-thing/", Decimal("19.9900"))]
    store = loaded_store[0]
    hidden = {pid for pid, product in store.expected("products").items() if not product["is_visible"]}
    staged_hidden = {row[0] for row in run_sql(warehouse, "SELECT id FROM bigcommerce.products WHERE NOT is_visible")}
    assert staged_hidden == hidden


def test_a_subscriber_who_withdraws_consent_is_staged_without_it(loaded_store, warehouse):
    store, client = loaded_store
    assert run_sql(warehouse, "SELECT consents, marketing_newsletter FROM bigcommerce.subscribers WHERE id = 8001") == [
        (["marketing_newsletter"], True)
    ]
    store.sandbox.clock.advance(2)
    store.sandbox.load({"subscribers": [{**SUBSCRIBER, "consents": [], "date_modified": store.sandbox.clock.now().isoformat()}]})

    sync(store, client, warehouse)

    assert run_sql(warehouse, "SELECT consents, marketing_newsletter FROM bigcommerce.subscribers WHERE id = 8001") == [
        ([], False)
    ]
    assert_matches_store(store, warehouse, streams=("subscribers",))


ODD_TEXT = {"first_name": "Zoë 🛒", "last_name": "Ångström-北京",
            "company": 'Back\\slash \\x41 "quoted" \\u00e9', "notes": "tab\there\u2028next line\x7f"}


def test_text_beyond_ascii_is_staged_exactly_as_the_store_sent_it(bc_store, warehouse):
    store = bc_store()
    store.sandbox.load({"customers": [{"id": 9101, "email": "zoe@example.org", **ODD_TEXT}]})
    sync(store, store.client(), warehouse)

    row = run_sql(warehouse, "SELECT first_name, last_name, company, notes FROM bigcommerce.customers WHERE id = 9101")
    assert row == [tuple(ODD_TEXT.values())]
    assert_matches_store(store, warehouse, streams=("customers",))
