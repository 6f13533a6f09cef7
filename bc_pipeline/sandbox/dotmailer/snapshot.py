"""The whole account as `GET /_sandbox/state` answers it; outside checks compare against this shape."""

from __future__ import annotations

from bc_pipeline.sandbox.dotmailer.account import Account, Contact
from bc_pipeline.sandbox.dotmailer.shapes import iso


def _contact(contact: Contact) -> dict:
    return {
        "id": contact.id,
        "email": contact.email,
        "status": contact.status,
        "dataFields": {name: value for name, value in contact.data_fields.items() if value is not None},
    }


def account_state(account: Account) -> dict:
    with account.lock:
        return {
            "address_books": [
                {
                    "id": book.id,
                    "name": book.name,
                    "contacts": [_contact(account.contacts[contact_id]) for contact_id in book.members],
                }
                for book in account.books.values()
            ],
            "contacts": [_contact(contact) for contact in account.contacts.values()],
            "insight": {
                name: [
                    {"key": record.key, "contactIdentity": record.contact_identity, "json": record.json}
                    for record in collection.records.values()
                ]
                for name, collection in account.insight.items()
            },
            "programs": [
                {"id": program.id, "name": program.name, "status": program.status}
                for program in account.programs.values()
            ],
            "enrolments": [
                {
                    "id": enrolment.id,
                    "programId": enrolment.program_id,
                    "contacts": list(enrolment.enrolled),
                    "status": enrolment.status,
                }
                for enrolment in account.enrolments.values()
            ],
            "suppressions": [
                {
                    "email": account.contacts[suppression.contact_id].email,
                    "dateRemoved": iso(suppression.date_removed),
                    "reason": suppression.reason,
                }
                for suppression in account.suppressions.values()
            ],
        }
