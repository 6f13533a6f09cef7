"""`POST /v2/programs/enrolments` as the real API rules it: contact ids only, Active programs only, contacts or
address books but not both, at most 25 contacts and 10 books a call, and 20 calls per rolling hour per account."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

from bc_pipeline.sandbox.dotmailer.account import Account, Enrolment
from bc_pipeline.sandbox.dotmailer.errors import v2_error

MAX_CONTACTS_PER_CALL = 25
MAX_BOOKS_PER_CALL = 10
ALLOWANCE_WINDOW = timedelta(hours=1)


class EnrolmentAllowance:
    """Accepted enrolment calls in the last hour of the sandbox clock, so a test can make the hour pass."""

    def __init__(self, calls_per_hour: int):
        self._calls_per_hour = calls_per_hour
        self._accepted: deque[datetime] = deque()
        self._lock = threading.Lock()

    def _forget_before(self, now: datetime) -> None:
        while self._accepted and self._accepted[0] <= now - ALLOWANCE_WINDOW:
            self._accepted.popleft()

    def exhausted(self, now: datetime) -> bool:
        with self._lock:
            self._forget_before(now)
            return len(self._accepted) >= self._calls_per_hour

    def spend(self, now: datetime) -> None:
        with self._lock:
            self._accepted.append(now)


def _ids(value, code: str) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise v2_error(400, "ERROR_ENROLMENT_INVALID")
    # an email or any other non-integer is not a contact id the account knows
    if any(isinstance(item, bool) or not isinstance(item, int) for item in value):
        raise v2_error(400, code)
    return value


def enrol(account: Account, allowance: EnrolmentAllowance, body: dict) -> Enrolment:
    now = account.clock.now()
    if allowance.exhausted(now):
        raise v2_error(400, "ERROR_ENROLMENT_ALLOWANCE_EXCEEDED")
    # "your account can only call this a maximum of 20 times per hour": refused calls count too
    allowance.spend(now)
    program_id = body.get("programid")
    if isinstance(program_id, bool) or not isinstance(program_id, int):
        raise v2_error(400, "ERROR_ENROLMENT_INVALID")
    contacts = _ids(body.get("contacts"), "ERROR_CONTACT_NOT_FOUND")
    books = _ids(body.get("addressbooks"), "ERROR_ADDRESSBOOK_NOT_FOUND")
    with account.lock:
        program = account.programs.get(program_id)
        if program is None:
            raise v2_error(404, "ERROR_PROGRAM_NOT_FOUND")
        if bool(contacts) == bool(books) or len(contacts) > MAX_CONTACTS_PER_CALL:
            raise v2_error(400, "ERROR_ENROLMENT_INVALID")
        if len(books) > MAX_BOOKS_PER_CALL:
            raise v2_error(400, "ERROR_ADDRESSBOOK_TOOMANY")
        if program.status != "Active":
            raise v2_error(422, "ERROR_PROGRAM_NOT_ACTIVE")
        if any(contact_id not in account.contacts for contact_id in contacts):
            raise v2_error(400, "ERROR_CONTACT_NOT_FOUND")
        if any(book_id not in account.books for book_id in books):
            raise v2_error(400, "ERROR_ADDRESSBOOK_NOT_FOUND")
        candidates = list(dict.fromkeys(contacts))
        for book_id in books:
            candidates.extend(member for member in account.books[book_id].members if member not in candidates)
        # suppressed contacts are left out and listed in the enrolment's fault report, as the real one does
        enrolled = [contact_id for contact_id in candidates if contact_id not in account.suppressions]
        faults = [contact_id for contact_id in candidates if contact_id in account.suppressions]
        enrolment = Enrolment(account.new_guid(), program.id, list(contacts), list(books), now, enrolled, faults)
        account.enrolments[enrolment.id] = enrolment
        return enrolment
