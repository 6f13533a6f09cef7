"""Automation programs and enrolments (v2).

dotmailer allows 20 enrolment calls per hour per account and only Active programs accept contacts; both
refusals are raised as their own exception types (ProgramNotActive, EnrolmentAllowanceExceeded) carrying what
was enrolled before them and what is still waiting, so the caller can wait for the next window.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.errors import EnrolmentRefused
from bc_pipeline.dotmailer.suppressions import parse_timestamp

MAX_CONTACTS_PER_ENROLMENT = 25


@dataclass(frozen=True)
class Program:
    id: int
    name: str | None
    status: str | None
    date_created: datetime | None = None

    @property
    def is_active(self) -> bool:
        return self.status == "Active"

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Program:
        return cls(
            id=int(payload["id"]),
            name=payload.get("name"),
            status=payload.get("status"),
            date_created=parse_timestamp(payload.get("dateCreated")),
        )


@dataclass(frozen=True)
class Enrolment:
    id: str
    program_id: int
    status: str | None
    contact_ids: tuple[int, ...]
    date_created: datetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.status == "Finished"

    @classmethod
    def from_payload(cls, payload: dict[str, Any], *, sent_contact_ids: Iterable[int] = ()) -> Enrolment:
        # dotmailer may answer with contacts: null; the ids sent are then the ones enrolled.
        contacts = payload.get("contacts")
        return cls(
            id=str(payload.get("id")),
            program_id=int(payload.get("programId") or 0),
            status=payload.get("status"),
            contact_ids=tuple(int(contact) for contact in (contacts if contacts else sent_contact_ids)),
            date_created=parse_timestamp(payload.get("dateCreated")),
        )


@dataclass(frozen=True)
class EnrolmentFault:
    contact_id: int | None
    email: str | None
    reason: str | None


def list_programs(client: DotmailerClient, *, page_size: int = 1000) -> list[Program]:
    return [
        Program.from_payload(item)
        for item in client.iterate_pages("/v2/programs", operation="list programs", page_size=page_size)
    ]


def get_program(client: DotmailerClient, program_id: int) -> Program:
    return Program.from_payload(
        client.call("GET", f"/v2/programs/{int(program_id)}", operation=f"get program {program_id}")
    )


def enrol(client: DotmailerClient, program_id: int, contact_ids: Iterable[int]) -> Enrolment:
    """One enrolment call (it spends one of the account's 20 per hour) for at most 25 contact ids."""
    ids = [int(contact_id) for contact_id in contact_ids]
    if not ids:
        raise ValueError("an enrolment needs at least one contact id")
    if len(ids) > MAX_CONTACTS_PER_ENROLMENT:
        raise ValueError(f"one enrolment takes at most {MAX_CONTACTS_PER_ENROLMENT} contacts, got {len(ids)}")
    payload = client.call(
        "POST",
        "/v2/programs/enrolments",
        operation=f"enrol {len(ids)} contacts into program {program_id}",
        json_body={"programId": int(program_id), "contacts": ids},
        # A resend after a lost response would spend another call of the hourly allowance and may enrol twice.
        retry_when_unsure=False,
    )
    return Enrolment.from_payload(payload, sent_contact_ids=ids)


def enrol_contacts(
    client: DotmailerClient,
    program_id: int,
    contact_ids: Iterable[int],
    *,
    batch_size: int = MAX_CONTACTS_PER_ENROLMENT,
    max_calls: int | None = None,
) -> tuple[list[Enrolment], list[int]]:
    """Enrol contacts in batches; return the enrolments made and the ids left for later.

    Stops after `max_calls` calls (the caller's share of the hourly allowance). A ProgramNotActive or
    EnrolmentAllowanceExceeded is raised with `enrolled` and `pending_contact_ids` filled in.
    """
    if not 1 <= batch_size <= MAX_CONTACTS_PER_ENROLMENT:
        raise ValueError(f"enrolment batch size must be between 1 and {MAX_CONTACTS_PER_ENROLMENT}")
    ids = list(dict.fromkeys(int(contact_id) for contact_id in contact_ids))
    enrolments: list[Enrolment] = []
    start = 0
    while start < len(ids) and (max_calls is None or len(enrolments) < max_calls):
        batch = ids[start : start + batch_size]
        try:
            enrolments.append(enrol(client, program_id, batch))
        except EnrolmentRefused as refusal:
            refusal.enrolled = enrolments
            refusal.pending_contact_ids = ids[start:]
            raise
        start += len(batch)
    return enrolments, ids[start:]


def enrolment_status(client: DotmailerClient, enrolment_id: str) -> Enrolment:
    return Enrolment.from_payload(
        client.call("GET", f"/v2/programs/enrolments/{enrolment_id}", operation=f"get enrolment {enrolment_id}")
    )


def enrolment_faults(client: DotmailerClient, enrolment_id: str) -> list[EnrolmentFault]:
    """Contacts an enrolment could not take (e.g. `AlreadyInProgram`, unsubscribed), once it has finished."""
    text = client.call_text(
        "GET",
        f"/v2/programs/enrolments/{enrolment_id}/report-faults",
        operation=f"get faults of enrolment {enrolment_id}",
    )
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return [
        EnrolmentFault(
            contact_id=int(row["Id"]) if (row.get("Id") or "").strip().isdigit() else None,
            email=row.get("Email") or None,
            reason=row.get("Reason") or None,
        )
        for row in rows
    ]
