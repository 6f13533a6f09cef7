"""What a finished `PUT /contacts/v3/import` does to the account, and the report it leaves.

A contact whose data fields or lists fail is still created or updated; its failures are reported beside it, as
the contacts service documents. Invalid, duplicate and globally suppressed contacts are not touched at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bc_pipeline.sandbox.dotmailer.account import Account, Contact
from bc_pipeline.sandbox.dotmailer.data_field_rules import InvalidValue, coerce

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z0-9-]{2,}$")
MAX_EMAIL_LENGTH = 254
CHANNEL_STATUS_TO_CONTACT_STATUS = {"subscribed": "Subscribed", "unsubscribed": "Unsubscribed", "suppressed": "Suppressed"}
OPT_IN_TYPES = {"unknown": "Unknown", "single": "Single", "double": "Double", "verifieddouble": "VerifiedDouble"}
EMAIL_TYPES = {"plaintext": "PlainText", "html": "Html"}


@dataclass
class ImportReport:
    summary: dict = field(
        default_factory=lambda: {
            "newContacts": 0,
            "updatedContacts": 0,
            "globallySuppressed": 0,
            "invalidEntries": 0,
            "duplicateIdentifiers": 0,
        }
    )
    created: list[dict] = field(default_factory=list)
    updated: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)

    def fail(self, item: dict, problems: list[dict], contact_id: int | None = None) -> None:
        failure = {
            "matchIdentifier": str(item.get("matchIdentifier") or "email"),
            "identifiers": _string_identifiers(item),
            "failures": problems,
        }
        if contact_id is not None:
            failure["contactId"] = contact_id
        self.failures.append(failure)

    def as_status(self) -> dict:
        return {"summary": self.summary, "created": self.created, "updated": self.updated, "failures": self.failures}


def _string_identifiers(item: dict) -> dict:
    identifiers = item.get("identifiers") if isinstance(item.get("identifiers"), dict) else {}
    return {name: str(value) for name, value in identifiers.items() if value is not None and name != "contactId"}


def apply_import(account: Account, contacts: list[dict], merge_option: str) -> ImportReport:
    report = ImportReport()
    seen: set[str] = set()
    with account.lock:
        for item in contacts:
            _import_one(account, item, merge_option, report, seen)
    return report


def _import_one(account: Account, item: dict, merge_option: str, report: ImportReport, seen: set[str]) -> None:
    identifiers = item.get("identifiers") or {}
    email = identifiers.get("email")
    if not isinstance(email, str) or len(email.strip()) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(email.strip()):
        report.summary["invalidEntries"] += 1
        report.fail(item, [_problem("InvalidEmail", f"The email address '{email}' is not valid")])
        return
    email_key = email.strip().casefold()
    if email_key in seen:
        report.summary["duplicateIdentifiers"] += 1
        report.fail(item, [_problem("Duplicate", f"The email address '{email}' appears more than once in this import")])
        return
    seen.add(email_key)

    contact = account.contact_by_email(email)
    if contact is not None and account.is_suppressed(contact):
        report.summary["globallySuppressed"] += 1
        report.fail(item, [_problem("GloballySuppressed", "The contact is suppressed at account level")], contact.id)
        return

    is_new = contact is None
    if is_new:
        contact = account.add_contact(email)
    _apply_channel(account, contact, item, is_new)
    problems = _apply_data_fields(account, contact, item, merge_option) + _apply_lists(account, contact, item)
    if problems:
        report.fail(item, problems, contact.id)

    reference = {"contactId": contact.id, "identifiers": {"email": contact.email}}
    if is_new:
        report.summary["newContacts"] += 1
        report.created.append(reference)
    else:
        report.summary["updatedContacts"] += 1
        report.updated.append(reference)


def _apply_channel(account: Account, contact: Contact, item: dict, is_new: bool) -> None:
    channel = ((item.get("channelProperties") or {}).get("email")) or {}
    if channel.get("emailType"):
        contact.email_type = EMAIL_TYPES.get(str(channel["emailType"]).casefold(), contact.email_type)
    if channel.get("optInType"):
        contact.opt_in_type = OPT_IN_TYPES.get(str(channel["optInType"]).casefold(), contact.opt_in_type)
    status = CHANNEL_STATUS_TO_CONTACT_STATUS.get(str(channel.get("status") or "").casefold())
    if status in ("Unsubscribed", "Suppressed"):
        account.suppress(contact, status)
    elif is_new and contact.opt_in_type == "VerifiedDouble":
        # a verified double opt-in waits for the contact to confirm by email
        contact.status = "PendingOptIn"
    elif status == "Subscribed" or is_new:
        contact.status = "Subscribed"


def _problem(code: str, description: str) -> dict:
    return {"failureCode": code, "description": description}


def _apply_data_fields(account: Account, contact: Contact, item: dict, merge_option: str) -> list[dict]:
    problems: list[dict] = []
    data_fields = item.get("dataFields") or {}
    for name, value in data_fields.items():
        data_field = account.data_field(name)
        if data_field is None:
            problems.append(_problem("DataFieldNotFound", f"The data field '{name}' does not exist"))
            continue
        try:
            stored = coerce(data_field.type, value)
        except InvalidValue as problem:
            problems.append(
                _problem(
                    "InvalidDataFieldValue",
                    f"The value for data field '{data_field.name}' ({data_field.type}) is invalid: {problem}",
                )
            )
            continue
        if _should_write(merge_option, contact.data_fields.get(data_field.name), stored):
            if stored is None:
                contact.data_fields.pop(data_field.name, None)
            else:
                contact.data_fields[data_field.name] = stored
    return problems


def _should_write(merge_option: str, current: Any, incoming: Any) -> bool:
    if merge_option == "overwriteIfNotEmpty":
        return incoming not in (None, "")
    if merge_option == "overwriteIfEmpty":
        return current in (None, "")
    return True


def _apply_lists(account: Account, contact: Contact, item: dict) -> list[dict]:
    invalid: list[str] = []
    for list_id in item.get("lists") or []:
        book = account.books.get(list_id) if isinstance(list_id, int) else None
        if book is None or not book.writable:
            invalid.append(str(list_id))
            continue
        book.members[contact.id] = None
    if not invalid:
        return []
    return [_problem("InvalidAddressBookIds", f"The list ids {', '.join(invalid)} do not exist or cannot be written")]
