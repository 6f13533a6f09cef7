"""The account's objects as the API answers them (the official specs' object shapes)."""

from __future__ import annotations

from datetime import datetime

from bc_pipeline.sandbox.dotmailer.account import (
    Account,
    AddressBook,
    Contact,
    DataField,
    Enrolment,
    InsightRecord,
    Program,
    Suppression,
)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def api_contact(account: Account, contact: Contact, with_full_data: bool = True) -> dict:
    body = {
        "id": contact.id,
        "email": contact.email,
        "optInType": contact.opt_in_type,
        "emailType": contact.email_type,
        "dataFields": None,
        "status": contact.status,
    }
    if with_full_data:
        # the real API lists every account field, unset ones with a null value
        body["dataFields"] = [
            {"key": name, "value": contact.data_fields.get(name)} for name in account.data_fields
        ]
    return body


def api_address_book(book: AddressBook) -> dict:
    return {"id": book.id, "name": book.name, "visibility": book.visibility, "contacts": len(book.members)}


def api_data_field(data_field: DataField) -> dict:
    return {
        "name": data_field.name,
        "type": data_field.type,
        "visibility": data_field.visibility,
        "defaultValue": data_field.default_value,
    }


def api_program(program: Program) -> dict:
    return {"id": program.id, "name": program.name, "status": program.status, "dateCreated": iso(program.date_created)}


def api_enrolment(enrolment: Enrolment) -> dict:
    return {
        "id": enrolment.id,
        "programId": enrolment.program_id,
        "status": enrolment.status,
        "dateCreated": iso(enrolment.date_created),
        "contacts": list(enrolment.contacts),
        "addressBooks": list(enrolment.address_books),
    }


def api_suppression(account: Account, suppression: Suppression) -> dict:
    contact = account.contacts[suppression.contact_id]
    return {
        "suppressedContact": api_contact(account, contact, with_full_data=False),
        "dateRemoved": iso(suppression.date_removed),
        "reason": suppression.reason,
    }


def api_insight_record(record: InsightRecord) -> dict:
    body = {"key": record.key, "json": record.json, "created": iso(record.created), "updated": iso(record.updated)}
    if record.owner_contact_id is not None:
        body["ownerContactId"] = record.owner_contact_id
    return body
