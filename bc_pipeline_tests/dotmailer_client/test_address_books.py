"""Address books: find-or-create, membership paging, removal and unsubscribe."""

from __future__ import annotations

import pytest

from bc_pipeline.dotmailer.address_books import (
    find_or_create_address_book,
    iterate_book_contacts,
    list_address_books,
    remove_contact_from_book,
    remove_contacts_from_book,
    unsubscribe_from_book,
)
from bc_pipeline.dotmailer.contacts import import_contacts
from bc_pipeline.dotmailer.errors import InvalidAddressBookName


def _book_emails(sandbox, book_id):
    book = next(book for book in sandbox.state()["address_books"] if book["id"] == book_id)
    return sorted(contact["email"] for contact in book["contacts"])


def _fill(client, book_id, count):
    contacts = [{"email": f"member{n}@example.com", "lists": [book_id]} for n in range(count)]
    report = import_contacts(client, contacts, poll_interval=0.01)
    return {result.email: result.contact_id for result in report.succeeded}


def test_find_or_create_is_idempotent_and_case_insensitive(client, sandbox):
    created = find_or_create_address_book(client, "Store customers")
    again = find_or_create_address_book(client, "  store CUSTOMERS ")

    assert again == created
    names = [book.name for book in list_address_books(client)]
    assert names.count("Store customers") == 1
    assert [book["name"] for book in sandbox.state()["address_books"]].count("Store customers") == 1


@pytest.mark.parametrize("name", ["Test", "all contacts", "", "x" * 129])
def test_reserved_or_invalid_book_names_are_refused(client, name):
    with pytest.raises(InvalidAddressBookName):
        find_or_create_address_book(client, name)


def test_book_contacts_are_listed_across_pages_with_data(client):
    book = find_or_create_address_book(client, "Store customers")
    ids = _fill(client, book.id, 7)

    listed = list(iterate_book_contacts(client, book.id, page_size=3))

    assert sorted(contact.id for contact in listed) == sorted(ids.values())
    assert all(isinstance(contact.data_fields, dict) for contact in listed)


def test_contacts_are_removed_from_the_book_in_bulk(client, sandbox):
    book = find_or_create_address_book(client, "Store subscribers")
    ids = _fill(client, book.id, 4)

    remove_contacts_from_book(
        client, book.id, [ids["member0@example.com"], ids["member1@example.com"]], poll_interval=0.01
    )

    assert _book_emails(sandbox, book.id) == ["member2@example.com", "member3@example.com"]
    assert len(sandbox.state()["contacts"]) == 4


def test_a_contact_is_removed_from_the_book_alone(client, sandbox):
    book = find_or_create_address_book(client, "Store subscribers")
    ids = _fill(client, book.id, 2)

    remove_contact_from_book(client, book.id, ids["member0@example.com"])

    assert _book_emails(sandbox, book.id) == ["member1@example.com"]
    assert len(sandbox.state()["contacts"]) == 2


def test_unsubscribe_from_book(client, sandbox):
    book = find_or_create_address_book(client, "Store subscribers")
    _fill(client, book.id, 2)

    suppression = unsubscribe_from_book(client, book.id, "member0@example.com")

    assert suppression.email == "member0@example.com"
    assert suppression.reason == "Unsubscribed"
    assert _book_emails(sandbox, book.id) == ["member1@example.com"]
