"""Suppressed contacts stay suppressed: imports cannot re-subscribe them, and suppressed-since reports them."""

from __future__ import annotations

from .helpers import contact, create_book, import_contacts


def test_a_globally_suppressed_contact_is_not_resubscribed_or_added_to_a_list(live):
    api = live.api
    book_id = create_book(api, "Store subscribers")
    import_contacts(api, [contact("gone@example.com", [book_id], {"FIRSTNAME": "Old"})])
    live.sandbox.suppress("GONE@example.com", reason="Unsubscribed")
    other_book = create_book(api, "Store customers")

    status = import_contacts(
        api, [contact("gone@example.com", [book_id, other_book], {"FIRSTNAME": "New"}, status="subscribed")]
    )

    assert status["summary"]["globallySuppressed"] == 1
    assert status["failures"][0]["failures"][0]["failureCode"] == "GloballySuppressed"
    assert status["created"] == status["updated"] == []
    state = live.sandbox.state()
    gone = next(c for c in state["contacts"] if c["email"] == "gone@example.com")
    assert gone["status"] == "Unsubscribed"
    assert gone["dataFields"] == {"FIRSTNAME": "Old"}
    assert next(b for b in state["address_books"] if b["id"] == other_book)["contacts"] == []
    assert [s["email"] for s in state["suppressions"]] == ["gone@example.com"]


def test_importing_an_unsubscribed_status_suppresses_the_contact(live):
    import_contacts(live.api, [contact("a@example.com", status="unsubscribed")])
    assert live.sandbox.state()["suppressions"][0]["reason"] == "Unsubscribed"
    assert import_contacts(live.api, [contact("a@example.com", status="subscribed")])["summary"]["globallySuppressed"] == 1


def test_suppressed_since_lists_suppressions_from_a_date_in_pages(live):
    live.sandbox.suppress("one@example.com")
    live.sandbox.clock.advance(3600)
    cut = live.sandbox.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    live.sandbox.suppress("two@example.com", reason="HardBounced")
    live.control("POST", "/_sandbox/suppress", json={"email": "three@example.com", "reason": "IspComplained"})

    since = live.api.get(f"/v2/contacts/suppressed-since/{cut}").json()
    assert [(s["suppressedContact"]["email"], s["reason"]) for s in since] == [
        ("two@example.com", "HardBounced"),
        ("three@example.com", "IspComplained"),
    ]
    second_page = live.api.get(f"/v2/contacts/suppressed-since/{cut}", params={"select": 1, "skip": 1}).json()
    assert [s["suppressedContact"]["email"] for s in second_page] == ["three@example.com"]
    assert live.api.get("/v2/contacts/suppressed-since/2000-01-01", params={"select": 0}).status_code == 400


def test_unsubscribe_from_a_book_removes_the_member(live):
    book_id = create_book(live.api, "Store subscribers")
    import_contacts(live.api, [contact("a@example.com", [book_id])])
    response = live.api.post(f"/v2/address-books/{book_id}/contacts/unsubscribe", json={"email": "A@example.com"})
    assert response.status_code == 200
    assert response.json()["suppressedContact"]["email"] == "a@example.com"
    assert live.api.get(f"/v2/address-books/{book_id}/contacts").json() == []
