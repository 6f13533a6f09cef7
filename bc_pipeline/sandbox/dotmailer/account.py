"""The sandbox account's data: contacts, address books, data fields, programs, enrolments, suppressions, insight.

One lock guards it all; handlers take it for the whole of each change so a request sees a consistent account.
"""

from __future__ import annotations

import itertools
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bc_pipeline.sandbox.clock import SandboxClock

DEFAULT_DATA_FIELDS = ("FIRSTNAME", "LASTNAME", "FULLNAME", "GENDER", "POSTCODE")
SEED_PROGRAMS = (
    ("New customers welcome", "Active"),
    ("New subscribers welcome", "Active"),
    ("Abandoned basket", "Active"),
    ("Old draft", "Draft"),
)
# The real account's built-in book; the API may read it but never write to it.
TEST_BOOK_NAME = "Test"


@dataclass
class Contact:
    id: int
    email: str
    status: str = "Subscribed"
    opt_in_type: str = "Unknown"
    email_type: str = "Html"
    data_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class AddressBook:
    id: int
    name: str
    visibility: str = "Private"
    writable: bool = True
    # dict keeps insertion order and gives O(1) membership
    members: dict[int, None] = field(default_factory=dict)


@dataclass
class DataField:
    name: str
    type: str
    visibility: str = "Private"
    default_value: Any = None


@dataclass
class Program:
    id: int
    name: str
    status: str
    date_created: datetime


@dataclass
class Enrolment:
    id: str
    program_id: int
    contacts: list[int]
    address_books: list[int]
    date_created: datetime
    # the contacts actually put into the program: those named plus the books' members, less the suppressed
    enrolled: list[int] = field(default_factory=list)
    # contacts named but not enrolled because they are suppressed
    unsubscribed: list[int] = field(default_factory=list)
    status: str = "Processing"


@dataclass
class Suppression:
    contact_id: int
    date_removed: datetime
    reason: str


@dataclass
class InsightRecord:
    key: str
    json: dict
    contact_identity: dict | None
    owner_contact_id: int | None
    created: datetime
    updated: datetime


@dataclass
class InsightCollection:
    name: str
    scope: str
    type: str
    # JSON type of each field path, fixed by the first record that carried it
    schema: dict[str, str] = field(default_factory=dict)
    records: dict[str, InsightRecord] = field(default_factory=dict)


class Account:
    def __init__(self, seed: int, clock: SandboxClock):
        self.lock = threading.RLock()
        self.clock = clock
        self._rng = random.Random(seed)
        self._contact_ids = itertools.count(self._rng.randint(10_000, 90_000) * 10)
        self._book_ids = itertools.count(self._rng.randint(100, 900) * 100)
        self.contacts: dict[int, Contact] = {}
        self._contact_by_email: dict[str, int] = {}
        self.books: dict[int, AddressBook] = {}
        self.data_fields: dict[str, DataField] = {}
        self.programs: dict[int, Program] = {}
        self.enrolments: dict[str, Enrolment] = {}
        self.suppressions: dict[int, Suppression] = {}
        self.insight: dict[str, InsightCollection] = {}
        # ids of bulk removals from books; the sandbox completes each before answering
        self.book_deletions: set[str] = set()
        self._seed_defaults()

    def _seed_defaults(self) -> None:
        now = self.clock.now()
        self.add_book(TEST_BOOK_NAME, "Private", writable=False)
        for name in DEFAULT_DATA_FIELDS:
            self.data_fields[name] = DataField(name, "String", "Public")
        self.data_fields["LASTSUBSCRIBED"] = DataField("LASTSUBSCRIBED", "Date", "Public")
        program_ids = itertools.count(self._rng.randint(1000, 9000))
        for name, status in SEED_PROGRAMS:
            program = Program(next(program_ids), name, status, now)
            self.programs[program.id] = program

    def new_guid(self) -> str:
        with self.lock:
            return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def add_book(self, name: str, visibility: str, writable: bool = True) -> AddressBook:
        book = AddressBook(next(self._book_ids), name, visibility, writable)
        self.books[book.id] = book
        return book

    def book_named(self, name: str) -> AddressBook | None:
        wanted = name.strip().casefold()
        return next((book for book in self.books.values() if book.name.casefold() == wanted), None)

    def contact_by_email(self, email: str) -> Contact | None:
        contact_id = self._contact_by_email.get(email.strip().casefold())
        return self.contacts.get(contact_id) if contact_id is not None else None

    def add_contact(self, email: str) -> Contact:
        contact = Contact(next(self._contact_ids), email.strip())
        self.contacts[contact.id] = contact
        self._contact_by_email[contact.email.casefold()] = contact.id
        return contact

    def data_field(self, name: str) -> DataField | None:
        return self.data_fields.get(name.upper())

    def suppress(self, contact: Contact, reason: str) -> Suppression:
        """Global suppression: the contact keeps its books but can no longer be mailed or re-subscribed by import."""
        contact.status = reason
        suppression = Suppression(contact.id, self.clock.now(), reason)
        self.suppressions[contact.id] = suppression
        return suppression

    def is_suppressed(self, contact: Contact) -> bool:
        return contact.id in self.suppressions
