"""Computed fields reach dotmailer with the values the store's history implies; a mapping change converges."""

from collections import defaultdict
from datetime import UTC
from email.utils import parsedate_to_datetime

import pytest

from bc_pipeline.definitions import defs
from bc_pipeline.settings import settings_path
from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.pipeline.expected import INCOMPLETE, PLAUSIBLE_EMAIL, book_members, key

MAPPING = {"FIRSTNAME": "first_name", "ORDER_COUNT": "order_count", "TOTAL_SPEND": "total_spend",
           "LAST_ORDER": "last_order_date", "SUB_STATUS": "subscriber_status", "STORE": "store_name"}


def _use_mapping(mapping: dict[str, str]) -> None:
    lines = "".join(f"  {target}: {source}\n" for target, source in mapping.items())
    settings_path().write_text(f"history_start_date: 2020-01-01\nfield_mapping:\n{lines}", encoding="utf-8")


def _order_history(bigcommerce) -> dict[str, dict]:
    """Per email: orders that count as purchases (not incomplete, not archived), their total, the last date."""
    customer_emails = {c["id"]: key(c["email"]) for c in bigcommerce.export("customers")}
    history: dict[str, dict] = defaultdict(lambda: {"count": 0, "spend": 0.0, "last": None})
    for order in bigcommerce.export("orders"):
        if order["status_id"] == INCOMPLETE or order.get("is_deleted"):
            continue
        email = customer_emails.get(order["customer_id"]) or key(order["billing_address"].get("email"))
        created = parsedate_to_datetime(order["date_created"]).astimezone(UTC)
        entry = history[email]
        entry["count"] += 1
        entry["spend"] += float(order["total_inc_tax"])
        entry["last"] = max(entry["last"] or created, created)
    return history


def test_computed_fields_match_the_order_history(sandboxes):
    _use_mapping(MAPPING)

    assert run_sync(defs).success

    history = _order_history(sandboxes.bigcommerce)
    consented = {key(s["email"]): "marketing_newsletter" in s["consents"] for s in sandboxes.bigcommerce.export("subscribers")}
    contacts = book_members(sandboxes.dotmailer, "Store customers")
    assert contacts
    for email, contact in contacts.items():
        fields = contact["dataFields"]
        expected = history.get(email, {"count": 0, "spend": 0.0, "last": None})
        assert fields["ORDER_COUNT"] == expected["count"], email
        assert fields["TOTAL_SPEND"] == pytest.approx(expected["spend"]), email
        if expected["last"] is None:
            assert fields.get("LAST_ORDER") is None, email
        else:
            assert fields["LAST_ORDER"].startswith(expected["last"].strftime("%Y-%m-%dT%H:%M:%S")), email
        status = {True: "subscribed", False: "unsubscribed"}.get(consented.get(email), "not subscribed")
        assert fields["SUB_STATUS"] == status, email
        assert fields["STORE"] == "Sandbox Store"


def test_a_removed_mapping_stops_writing_its_field_and_a_new_one_is_filled(sandboxes):
    _use_mapping(MAPPING)
    assert run_sync(defs).success
    before = book_members(sandboxes.dotmailer, "Store customers")

    _use_mapping({**{k: v for k, v in MAPPING.items() if k != "SUB_STATUS"}, "CITY": "city"})
    assert run_sync(defs).success

    after = book_members(sandboxes.dotmailer, "Store customers")
    assert set(after) == set(before)
    customers = {key(c["email"]): c for c in sandboxes.bigcommerce.export("customers")
                 if PLAUSIBLE_EMAIL.fullmatch(key(c["email"]))}
    for email, contact in after.items():
        # The unmapped field keeps the value it had: removing a mapping never clears data in dotmailer.
        assert contact["dataFields"]["SUB_STATUS"] == before[email]["dataFields"]["SUB_STATUS"]
        addresses = customers.get(email, {}).get("addresses") or []
        if addresses and email in customers:
            first = min(addresses, key=lambda a: a["id"])
            assert contact["dataFields"]["CITY"] == first["city"], email


def test_form_fields_map_by_name_and_attributes_by_id(sandboxes):
    customers = [c for c in sandboxes.bigcommerce.export("customers")
                 if c["form_fields"] and c["attributes"] and PLAUSIBLE_EMAIL.fullmatch(key(c["email"]))]
    assert customers, "the sandbox store has customers with form fields and attributes"
    form_field = customers[0]["form_fields"][0]["name"]
    attribute_id = customers[0]["attributes"][0]["attribute_id"]
    _use_mapping({"HEARD_ABOUT": f"form_field:{form_field}", "ATTRIBUTE": f"attribute:{attribute_id}"})

    assert run_sync(defs).success

    contacts = book_members(sandboxes.dotmailer, "Store customers")
    for customer in customers:
        fields = contacts[key(customer["email"])]["dataFields"]
        answers = [f["value"] for f in customer["form_fields"] if f["name"] == form_field]
        values = [a["attribute_value"] for a in customer["attributes"] if a["attribute_id"] == attribute_id]
        assert fields.get("HEARD_ABOUT") == (str(answers[0]) if answers else None)
        assert fields.get("ATTRIBUTE") == (values[0] if values else None)
