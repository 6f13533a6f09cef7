"""Address books (lists) and their membership, through the v2 API."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from bc_pipeline.dotmailer.bulk_import import poll_waits
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.errors import DotmailerError, InvalidAddressBookName
from bc_pipeline.dotmailer.suppressions import Suppression

# dotmailer owns these books: 'Test' is not writable by API and 'All Contacts' is the account itself.
RESERVED_BOOK_NAMES = frozenset({"test", "all contacts"})
MAX_BOOK_NAME_LENGTH = 128


@dataclass(frozen=True)
class AddressBook:
    id: int
    name: str
    visibility: str | None = None
    contacts: int | None = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> AddressBook:
        return cls(
            id=int(payload["id"]),
            name=str(payload.get("name") or ""),
            visibility=payload.get("visibility"),
            contacts=payload.get("contacts"),
        )


@dataclass(frozen=True)
class BookContact:
    id: int
    email: str
    status: str | None = None
    opt_in_type: str | None = None
    data_fields: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> BookContact:
        fields = {
            str(item.get("key")): item.get("value")
            for item in payload.get("dataFields") or []
            if isinstance(item, dict) and item.get("key") is not None
        }
        return cls(
            id=int(payload["id"]),
            email=str(payload.get("email") or ""),
            status=payload.get("status"),
            opt_in_type=payload.get("optInType"),
            data_fields=fields,
        )


def list_address_books(client: DotmailerClient, *, page_size: int = 1000) -> list[AddressBook]:
    return [
        AddressBook.from_payload(item)
        for item in client.iterate_pages("/v2/address-books", operation="list address books", page_size=page_size)
    ]


def find_address_book(client: DotmailerClient, name: str) -> AddressBook | None:
    """The book whose name matches `name` ignoring case and surrounding spaces, if any."""
    wanted = name.strip().casefold()
    return next((book for book in list_address_books(client) if book.name.strip().casefold() == wanted), None)


def validate_address_book_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidAddressBookName("an address book needs a name")
    if len(cleaned) > MAX_BOOK_NAME_LENGTH:
        raise InvalidAddressBookName(
            f"address book name {cleaned[:40]!r}… is {len(cleaned)} characters; dotmailer allows {MAX_BOOK_NAME_LENGTH}"
        )
    if cleaned.casefold() in RESERVED_BOOK_NAMES:
        raise InvalidAddressBookName(f"address book name {cleaned!r} is reserved by dotmailer; choose another name")
    return cleaned


def create_address_book(client: DotmailerClient, name: str, *, visibility: str = "Private") -> AddressBook:
    payload = client.call(
        "POST",
        "/v2/address-books",
        operation=f"create address book {name!r}",
        json_body={"name": validate_address_book_name(name), "visibility": visibility},
    )
    return AddressBook.from_payload(payload)


def find_or_create_address_book(client: DotmailerClient, name: str, *, visibility: str = "Private") -> AddressBook:
    """The existing book of that name (case-insensitive), or a new one; calling it twice makes one book."""
    cleaned = validate_address_book_name(name)
    return find_address_book(client, cleaned) or create_address_book(client, cleaned, visibility=visibility)


def iterate_book_contacts(
    client: DotmailerClient, book_id: int, *, with_full_data: bool = True, page_size: int = 1000
) -> Iterator[BookContact]:
    """Every contact in the book, page by page (data fields included when `with_full_data`)."""
    for item in client.iterate_pages(
        f"/v2/address-books/{int(book_id)}/contacts",
        operation=f"list contacts in address book {book_id}",
        params={"withFullData": "true" if with_full_data else "false"},
        page_size=page_size,
    ):
        yield BookContact.from_payload(item)


def remove_contact_from_book(client: DotmailerClient, book_id: int, contact_id: int) -> None:
    client.call(
        "DELETE",
        f"/v2/address-books/{int(book_id)}/contacts/{int(contact_id)}",
        operation=f"remove contact {contact_id} from address book {book_id}",
    )


def remove_contacts_from_book(
    client: DotmailerClient,
    book_id: int,
    contact_ids: Iterable[int],
    *,
    batch_size: int = 1000,
    poll_interval: float = 2.0,
    poll_timeout: float = 600.0,
) -> None:
    """Remove contacts from a book (not from the account) with the bulk call, waiting until dotmailer is done."""
    ids = [int(contact_id) for contact_id in contact_ids]
    for start in range(0, len(ids), batch_size):
        batch = ids[start : start + batch_size]
        operation = f"remove {len(batch)} contacts from address book {book_id}"
        deletion = client.call(
            "POST", f"/v2/address-books/{int(book_id)}/contacts/delete", operation=operation, json_body=batch
        )
        _wait_for_deletion(client, deletion, operation, poll_interval, poll_timeout)


def _wait_for_deletion(
    client: DotmailerClient, deletion: Any, operation: str, poll_interval: float, poll_timeout: float
) -> None:
    deadline = client.monotonic() + poll_timeout
    waits = poll_waits(poll_interval)
    while True:
        status = deletion.get("status") if isinstance(deletion, dict) else None
        if status == "Completed":
            return
        if status == "Failed":
            raise DotmailerError(f"dotmailer {operation}: dotmailer reported the deletion Failed")
        deletion_id = deletion.get("id") if isinstance(deletion, dict) else None
        if not deletion_id:
            raise DotmailerError(f"dotmailer {operation}: no deletion id came back to follow")
        if client.monotonic() > deadline:
            raise DotmailerError(f"dotmailer {operation}: deletion {deletion_id} still {status} after {poll_timeout} s")
        client.sleep(next(waits))
        deletion = client.call(
            "GET", f"/v2/contacts/deletion/{deletion_id}", operation=f"{operation} (progress of {deletion_id})"
        )


def unsubscribe_from_book(client: DotmailerClient, book_id: int, email: str) -> Suppression:
    """Unsubscribe a contact from one book only; the contact stays subscribed elsewhere."""
    payload = client.call(
        "POST",
        f"/v2/address-books/{int(book_id)}/contacts/unsubscribe",
        operation=f"unsubscribe a contact from address book {book_id}",
        json_body={"email": email},
    )
    return Suppression.from_payload(payload, fallback_email=email)
