"""Contacts v3 import: asynchronous progress, created/updated ids, failures, merge options and limits."""

from __future__ import annotations

import json

from .helpers import contact, create_book, import_contacts


def _state_contact(live, email: str) -> dict:
    return next(c for c in live.sandbox.state()["contacts"] if c["email"].casefold() == email.casefold())


def test_import_stays_not_finished_for_the_configured_polls_then_reports_ids(make_sandbox):
    live = make_sandbox(import_steps=2)
    api = live.api
    book_id = create_book(api, "Store customers")
    import_id = api.put(
        "/contacts/v3/import", json={"contacts": [contact("ann@example.com", [book_id], {"FIRSTNAME": "Ann"})]}
    ).json()["importId"]
    assert api.get(f"/contacts/v3/import/{import_id}").json()["status"] == "NotFinished"
    assert live.sandbox.state()["contacts"] == []
    assert api.get(f"/contacts/v3/import/{import_id}").json()["status"] == "NotFinished"
    finished = api.get(f"/contacts/v3/import/{import_id}").json()
    assert finished["status"] == "Finished"
    assert finished["summary"]["newContacts"] == 1
    [created] = finished["created"]
    assert created["identifiers"] == {"email": "ann@example.com"}
    book = next(b for b in live.sandbox.state()["address_books"] if b["id"] == book_id)
    assert book["contacts"] == [
        {"id": created["contactId"], "email": "ann@example.com", "status": "Subscribed", "dataFields": {"FIRSTNAME": "Ann"}}
    ]
    assert api.get(f"/contacts/v3/import/{import_id}").json() == finished


def test_zero_steps_finishes_at_once(make_sandbox):
    live = make_sandbox(import_steps=0)
    import_id = live.api.put("/contacts/v3/import", json={"contacts": [contact("a@example.com")]}).json()["importId"]
    assert live.api.get(f"/contacts/v3/import/{import_id}").json()["status"] == "Finished"


def test_emails_match_case_insensitively_and_report_updates(live):
    first = import_contacts(live.api, [contact("Ann@Example.com", data_fields={"FIRSTNAME": "Ann"})])
    second = import_contacts(live.api, [contact("ann@example.COM", data_fields={"LASTNAME": "Lee"})])
    assert second["summary"]["updatedContacts"] == 1
    assert second["updated"][0]["contactId"] == first["created"][0]["contactId"]
    assert len(live.sandbox.state()["contacts"]) == 1
    assert _state_contact(live, "ann@example.com")["dataFields"] == {"FIRSTNAME": "Ann", "LASTNAME": "Lee"}


def test_failures_are_reported_with_their_codes_and_never_break_the_import(live):
    api = live.api
    book_id = create_book(api, "Store customers")
    test_book = next(b["id"] for b in api.get("/v2/address-books").json() if b["name"] == "Test")
    api.post("/v2/data-fields", json={"name": "ORDER_COUNT", "type": "Numeric"})
    api.post("/v2/data-fields", json={"name": "LAST_ORDER", "type": "Date"})
    api.post("/v2/data-fields", json={"name": "VIP", "type": "Boolean"})
    status = import_contacts(
        api,
        [
            contact("not an email", [book_id]),
            contact("dup@example.com", [book_id]),
            contact("DUP@example.com", [book_id]),
            contact("typed@example.com", [book_id], {"ORDER_COUNT": "three", "LAST_ORDER": "yesterday", "VIP": "maybe"}),
            contact("unknown@example.com", [book_id], {"NO_SUCH_FIELD": "x"}),
            contact("lists@example.com", [book_id, 999_999, test_book]),
            contact("fine@example.com", [book_id], {"ORDER_COUNT": "3", "LAST_ORDER": "2026-01-02T03:04:05Z", "VIP": True}),
        ],
    )
    codes = {f["identifiers"]["email"]: [x["failureCode"] for x in f["failures"]] for f in status["failures"]}
    assert codes == {
        "not an email": ["InvalidEmail"],
        "DUP@example.com": ["Duplicate"],
        "typed@example.com": ["InvalidDataFieldValue"] * 3,
        "unknown@example.com": ["DataFieldNotFound"],
        "lists@example.com": ["InvalidAddressBookIds"],
    }
    assert status["summary"] == {
        "newContacts": 5, "updatedContacts": 0, "globallySuppressed": 0, "invalidEntries": 1, "duplicateIdentifiers": 1,
    }
    assert _state_contact(live, "fine@example.com")["dataFields"] == {
        "ORDER_COUNT": 3, "LAST_ORDER": "2026-01-02T03:04:05", "VIP": True,
    }
    assert _state_contact(live, "typed@example.com")["dataFields"] == {}
    book = next(b for b in live.sandbox.state()["address_books"] if b["id"] == book_id)
    assert "lists@example.com" in [c["email"] for c in book["contacts"]]
    assert not next(b for b in live.sandbox.state()["address_books"] if b["id"] == test_book)["contacts"]


def test_null_clears_and_merge_options_decide_what_is_overwritten(live):
    import_contacts(live.api, [contact("a@example.com", data_fields={"FIRSTNAME": "Ann", "LASTNAME": "Lee"})])
    import_contacts(live.api, [contact("a@example.com", data_fields={"FIRSTNAME": None})])
    assert _state_contact(live, "a@example.com")["dataFields"] == {"LASTNAME": "Lee"}
    import_contacts(live.api, [contact("a@example.com", data_fields={"LASTNAME": None})], "overwriteIfNotEmpty")
    assert _state_contact(live, "a@example.com")["dataFields"] == {"LASTNAME": "Lee"}
    import_contacts(
        live.api, [contact("a@example.com", data_fields={"LASTNAME": "Ray", "FIRSTNAME": "Ann"})], "overwriteIfEmpty"
    )
    assert _state_contact(live, "a@example.com")["dataFields"] == {"LASTNAME": "Lee", "FIRSTNAME": "Ann"}


def test_at_most_the_allowed_imports_are_active(make_sandbox):
    live = make_sandbox(import_steps=1, max_active_contact_imports=2)
    ids = [
        live.api.put("/contacts/v3/import", json={"contacts": [contact(f"c{i}@example.com")]}).json()["importId"]
        for i in range(2)
    ]
    refused = live.api.put("/contacts/v3/import", json={"contacts": [contact("c3@example.com")]})
    assert refused.status_code == 429
    assert refused.json()["errorCode"] == "contacts:tooManyActiveImports"
    for import_id in ids:
        live.api.get(f"/contacts/v3/import/{import_id}")
        live.api.get(f"/contacts/v3/import/{import_id}")
    assert live.api.put("/contacts/v3/import", json={"contacts": [contact("c3@example.com")]}).status_code == 202


def test_a_request_over_the_size_limit_is_refused_with_413(make_sandbox):
    live = make_sandbox(max_request_bytes=2_000)
    big = [contact(f"person{i}@example.com", data_fields={"FIRSTNAME": "x" * 50}) for i in range(40)]
    response = live.api.put("/contacts/v3/import", json={"contacts": big})
    assert (response.status_code, response.json()["errorCode"]) == (413, "contacts:requestTooLarge")
    body = json.dumps({"contacts": big}).encode()
    chunked = live.api.put("/contacts/v3/import", data=iter([body[:1000], body[1000:]]))
    assert chunked.status_code == 413
    assert live.sandbox.state()["contacts"] == []


def test_a_bad_body_is_a_400_with_the_v3_error_shape(live):
    response = live.api.put("/contacts/v3/import", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errorCode"] == "contacts:badJson"
