"""Insight v3: contact-scoped Orders, account-scoped Catalog_Default, per-record faults, features off, deletes."""

from __future__ import annotations

import pytest

from bc_pipeline.dotmailer.address_books import find_or_create_address_book
from bc_pipeline.dotmailer.contacts import import_contacts
from bc_pipeline.dotmailer.errors import InsightNotEnabled
from bc_pipeline.dotmailer.insight import (
    delete_account_record,
    delete_account_records,
    delete_contact_record,
    delete_contact_records,
    import_insight,
    resume_insight_import,
)
from bc_pipeline_tests.dotmailer_client.conftest import API_PASSWORD


def _customers(client, *emails):
    book = find_or_create_address_book(client, "Store customers")
    import_contacts(client, [{"email": email, "lists": [book.id]} for email in emails], poll_interval=0.001)


def _order(order_id, email):
    return {
        "key": str(order_id),
        "email": email,
        "json": {"id": str(order_id), "orderTotal": 21.5, "currency": "GBP", "products": [{"sku": "MUG-1", "qty": 2}]},
    }


def _product(product_id):
    return {"key": str(product_id), "json": {"id": str(product_id), "name": f"Mug {product_id}", "price": 8.0}}


def _keys(sandbox, collection):
    return sorted(record["key"] for record in sandbox.state()["insight"].get(collection, []))


def test_orders_land_per_contact_and_missing_contacts_are_reported_by_key(client, sandbox):
    _customers(client, "jane@example.com", "joe@example.com")

    report = import_insight(
        client,
        "Orders",
        [_order(100, "jane@example.com"), _order(101, "joe@example.com"), _order(102, "nobody@example.com")],
        scope="contact",
        collection_type="orders",
        poll_interval=0.001,
    )

    assert sorted(result.key for result in report.imported) == ["100", "101"]
    [missing] = report.failed
    assert (missing.key, missing.reason, missing.email) == ("102", "ContactEmailDoesNotExist", "nobody@example.com")
    assert _keys(sandbox, "Orders") == ["100", "101"]
    owners = {record["key"]: record["contactIdentity"]["value"] for record in sandbox.state()["insight"]["Orders"]}
    assert owners == {"100": "jane@example.com", "101": "joe@example.com"}


def test_contact_scoped_record_without_email_is_failed_without_sending(client):
    report = import_insight(
        client, "Orders", [{"key": "7", "json": {"id": "7"}}], scope="contact", collection_type="orders",
        poll_interval=0.001,
    )

    assert report.failed[0].reason == "InvalidContactIdentifier"
    assert report.chunks == []


def test_catalogue_lands_account_scoped_in_several_chunks(client, sandbox):
    accepted = []

    report = import_insight(
        client,
        "Catalog_Default",
        [_product(n) for n in range(30)],
        scope="account",
        collection_type="catalog",
        max_chunk_bytes=800,
        poll_interval=0.001,
        on_accepted=lambda import_id, keys: accepted.append(keys),
    )

    assert len(accepted) >= 3
    assert len(report.imported) == 30
    assert _keys(sandbox, "Catalog_Default") == sorted(str(n) for n in range(30))
    assert sandbox.stats()["requests"]["PUT /insightData/v3/import"] == len(accepted)


def test_each_insight_chunk_is_handed_over_as_it_ends(client, sandbox):
    _customers(client, "jane@example.com")
    parts = []
    orders = [_order(n, "jane@example.com") for n in range(4)] + [_order(9, "nobody@example.com")]

    report = import_insight(
        client, "Orders", orders, scope="contact", collection_type="orders", max_records_per_chunk=2,
        max_active_imports=1, poll_interval=0.001, on_chunk_report=parts.append,
    )

    assert (report.results, report.chunks) == ([], [])
    assert [[(chunk.status, chunk.item_count) for chunk in part.chunks] for part in parts] == [[("Complete", 2)]] * 2 + [
        [("Complete", 1)]]
    assert [sorted((result.key, result.outcome) for result in part.results) for part in parts] == [
        [("0", "imported"), ("1", "imported")], [("2", "imported"), ("3", "imported")], [("9", "failed")]]
    assert _keys(sandbox, "Orders") == ["0", "1", "2", "3"]


def test_records_rejected_with_no_chunk_sent_are_handed_over_too(client, sandbox):
    parts = []

    import_insight(client, "Orders", [{"key": "7", "json": {"id": "7"}}], scope="contact", collection_type="orders",
                   poll_interval=0.001, on_chunk_report=parts.append)

    assert [[(result.key, result.reason) for result in part.results] for part in parts] == [
        [("7", "InvalidContactIdentifier")]]
    assert sandbox.stats()["requests"].get("PUT /insightData/v3/import", 0) == 0


def test_failed_insight_chunk_is_reported_and_the_others_land(client, sandbox):
    sandbox.set_fault("import_failed", count=1)

    report = import_insight(
        client, "Catalog_Default", [_product(n) for n in range(6)], scope="account", collection_type="catalog",
        max_records_per_chunk=2, max_active_imports=1, poll_interval=0.001,
    )

    assert [chunk.status for chunk in report.chunks] == ["Failed", "Complete", "Complete"]
    assert sorted(result.key for result in report.failed) == ["0", "1"]
    assert _keys(sandbox, "Catalog_Default") == ["2", "3", "4", "5"]


def test_accepted_insight_import_is_resumed(client, sandbox):
    accepted = []
    import_insight(
        client, "Catalog_Default", [_product(1), _product(2)], scope="account", collection_type="catalog",
        poll_interval=0.001, on_accepted=lambda import_id, keys: accepted.append((import_id, keys)),
    )

    resumed = resume_insight_import(client, "Catalog_Default", *accepted[0], poll_interval=0.001)

    assert [result.outcome for result in resumed.results] == ["imported", "imported"]
    assert sandbox.stats()["requests"]["PUT /insightData/v3/import"] == 1


@pytest.mark.parametrize(
    ("feature", "collection", "scope", "record"),
    [
        ("insight", "Orders", "contact", _order(1, "jane@example.com")),
        ("account_insight", "Catalog_Default", "account", _product(1)),
    ],
)
def test_disabled_feature_raises_insight_not_enabled(client, sandbox, feature, collection, scope, record):
    sandbox.set_feature(**{feature: False})

    with pytest.raises(InsightNotEnabled) as caught:
        import_insight(client, collection, [record], scope=scope, poll_interval=0.001)

    message = str(caught.value)
    assert "account manager" in message and "Insight" in message
    assert collection in message
    assert API_PASSWORD not in message


def test_account_insight_off_leaves_contact_insight_working(client, sandbox):
    _customers(client, "jane@example.com")
    sandbox.set_feature(account_insight=False)

    report = import_insight(
        client, "Orders", [_order(5, "jane@example.com")], scope="contact", collection_type="orders",
        poll_interval=0.001,
    )

    assert [result.outcome for result in report.results] == ["imported"]


def test_records_are_deleted_single_and_in_bulk_idempotently(client, sandbox):
    _customers(client, "jane@example.com")
    import_insight(
        client, "Catalog_Default", [_product(n) for n in range(5)], scope="account", collection_type="catalog",
        poll_interval=0.001,
    )
    import_insight(
        client, "Orders", [_order(n, "jane@example.com") for n in (7, 8, 9)], scope="contact",
        collection_type="orders", poll_interval=0.001,
    )

    assert delete_account_record(client, "Catalog_Default", "0") is True
    assert delete_account_record(client, "Catalog_Default", "0") is False
    summary = delete_account_records(client, "Catalog_Default", ["1", "2", "404"])
    assert delete_contact_record(client, "Orders", "jane@example.com", "9") is True
    contact_summary = delete_contact_records(client, "Orders", "jane@example.com", ["7", "8", "9"])

    assert summary.deleted == 2 and summary.not_found == ["404"]
    assert contact_summary.deleted == 2 and contact_summary.not_found == ["9"]
    assert _keys(sandbox, "Catalog_Default") == ["3", "4"]
    assert _keys(sandbox, "Orders") == []
    assert delete_account_records(client, "NeverCreated", ["1"]).not_found == ["1"]
