"""Enrolling due contacts into a program, in calls of up to 25, within the hourly budget, each contact once.

A contact is written to the ledger only after dotmailer accepted the call that named it. A call that got no
answer is never resent (dotmailer may have enrolled its contacts; a resend could enrol them twice); its
contacts are recorded as failures with that reason instead, as are contacts dotmailer refused outright.
Each batch is parked as in flight before its call, so a run killed while the answer is on its way counts
as no answer too, rather than leaving no trace and enrolling the batch again.
Whatever does not fit in this hour's budget, or meets an inactive program, simply stays due for a later run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.errors import (
    DotmailerApiError,
    DotmailerUnavailable,
    EnrolmentAllowanceExceeded,
    ProgramNotActive,
)
from bc_pipeline.dotmailer.programs import MAX_CONTACTS_PER_ENROLMENT, enrol
from bc_pipeline.enrolment.budget import (
    ACCEPTED,
    ALLOWANCE_EXCEEDED,
    NO_ANSWER,
    PROGRAM_NOT_ACTIVE,
    REFUSED,
    calls_left,
    record_call,
)
from bc_pipeline.enrolment.candidates import due_contacts
from bc_pipeline.enrolment.ledger import ensure_enrolment_ledger, record_switch_on
from bc_pipeline.enrolment.programs import find_program
from bc_pipeline.enrolment.roles import program_name
from bc_pipeline.settings import ConnectorSettings
from bc_pipeline.warehouse import transaction

IN_FLIGHT = "the run stopped while the enrolment call was on its way; not resent, as it may have gone through"


@dataclass
class EnrolmentResult:
    role: str
    program_name: str | None
    program_id: int | None = None
    switched_on_at: datetime | None = None
    enrolled: int = 0
    calls: int = 0
    # Due contacts left for a later run: over this hour's budget, or the program could not take them.
    waiting: int = 0
    awaiting_contact_id: int = 0
    failed: int = 0
    # Automation off for this role.
    skipped: str | None = None
    # Why due contacts are waiting beyond the budget: program missing or not Active, allowance refused.
    problem: str | None = None

    def metadata(self) -> dict:
        return {
            "role": self.role,
            "program": self.program_name or "none",
            "program_id": self.program_id if self.program_id is not None else -1,
            "switched_on_at": self.switched_on_at.isoformat() if self.switched_on_at else "",
            "enrolled": self.enrolled,
            "enrolment_calls": self.calls,
            "waiting": self.waiting,
            "awaiting_contact_id": self.awaiting_contact_id,
            "failed": self.failed,
            "problem": self.problem or self.skipped or "",
        }


def start_enrolment(
    conn: duckdb.DuckDBPyConnection, client: DotmailerClient, settings: ConnectorSettings, role: str, now: datetime
) -> EnrolmentResult:
    """Record the switch-on and look the program up; `problem` or `skipped` is set when nothing can be enrolled."""
    ensure_enrolment_ledger(conn)
    result = EnrolmentResult(role=role, program_name=program_name(settings, role))
    if result.program_name is None:
        result.skipped = f"{role} automation is off: no program is set for it in connector.yaml"
        return result
    result.switched_on_at = record_switch_on(conn, role, result.program_name, now)
    lookup = find_program(client, result.program_name)
    result.program_id = lookup.program.id if lookup.program else None
    result.problem = lookup.problem
    return result


def enrol_new_contacts(
    conn: duckdb.DuckDBPyConnection, client: DotmailerClient, settings: ConnectorSettings, role: str, now: datetime
) -> EnrolmentResult:
    """Enrol the customers or subscribers created since `role`'s automation was switched on."""
    result = start_enrolment(conn, client, settings, role, now)
    if result.skipped or result.program_id is None:
        return result
    due = due_contacts(conn, role, result.program_id, result.switched_on_at)
    result.awaiting_contact_id = due.awaiting_contact_id
    if result.problem:
        result.waiting = len(due.ready)
        return result
    enrol_within_budget(conn, client, result, due.ready, now)
    return result


def enrol_within_budget(
    conn: duckdb.DuckDBPyConnection,
    client: DotmailerClient,
    result: EnrolmentResult,
    contacts: list[tuple[str, int]],
    now: datetime,
) -> None:
    """Enrol `contacts` (email_key, contact_id) into `result.program_id`, updating `result` as calls go."""
    batches = [contacts[start : start + MAX_CONTACTS_PER_ENROLMENT]
               for start in range(0, len(contacts), MAX_CONTACTS_PER_ENROLMENT)]
    budget = calls_left(conn, now)
    for position, batch in enumerate(batches):
        if result.calls >= budget:
            result.waiting += sum(len(rest) for rest in batches[position:])
            return
        result.calls += 1
        ids = [contact_id for _, contact_id in batch]
        _park(conn, now, result, batch, IN_FLIGHT)
        try:
            enrolment = enrol(client, result.program_id, ids)
        except (ProgramNotActive, EnrolmentAllowanceExceeded) as refusal:
            outcome = PROGRAM_NOT_ACTIVE if isinstance(refusal, ProgramNotActive) else ALLOWANCE_EXCEEDED
            with transaction(conn):
                _unpark(conn, result, batch)
                record_call(conn, now, result.role, result.program_id, len(ids), outcome, detail=refusal.code)
            result.problem = _refusal_problem(result, refusal)
            result.waiting += sum(len(rest) for rest in batches[position:])
            return
        except DotmailerUnavailable:
            _record_failed_call(conn, now, result, batch, NO_ANSWER,
                                "the enrolment call got no answer; not resent, as it may have gone through")
            result.failed += len(batch)
            # dotmailer is struggling: the rest waits for a later run rather than risking more lost answers.
            result.waiting += sum(len(rest) for rest in batches[position + 1 :])
            return
        except DotmailerApiError as refusal:
            reason = f"dotmailer refused: {refusal.code or refusal.status}"
            _record_failed_call(conn, now, result, batch, REFUSED, reason)
            result.failed += len(batch)
            continue
        _record_enrolment(conn, now, result, batch, enrolment.id)
        result.enrolled += len(batch)


def _refusal_problem(result: EnrolmentResult, refusal: DotmailerApiError) -> str:
    if isinstance(refusal, ProgramNotActive):
        return (f"dotmailer program '{result.program_name}' (id {result.program_id}) is not Active: contacts wait "
                "until it is activated in dotmailer")
    return "dotmailer refused the enrolment: this hour's allowance of 20 enrolment calls is spent; retrying later"


def _park(conn, now: datetime, result: EnrolmentResult, batch: list[tuple[str, int]], reason: str) -> None:
    with transaction(conn):
        _park_rows(conn, now, result, batch, reason)


def _park_rows(conn, now: datetime, result: EnrolmentResult, batch: list[tuple[str, int]], reason: str) -> None:
    """Record `batch` as failed with `reason`: none of its contacts is sent again automatically."""
    _unpark(conn, result, batch)
    conn.execute(
        """INSERT INTO dotmailer.enrolment_failures
           SELECT $program_id, unnest($contact_ids::BIGINT[]), $role, unnest($email_keys::VARCHAR[]), $reason, $now""",
        {"program_id": result.program_id, "contact_ids": [c for _, c in batch], "role": result.role,
         "email_keys": [e for e, _ in batch], "reason": reason, "now": now},
    )


def _unpark(conn, result: EnrolmentResult, batch: list[tuple[str, int]]) -> None:
    conn.execute(
        "DELETE FROM dotmailer.enrolment_failures WHERE program_id = ? AND contact_id IN (SELECT unnest(?::BIGINT[]))",
        [result.program_id, [c for _, c in batch]],
    )


def _record_enrolment(conn, now: datetime, result: EnrolmentResult, batch: list[tuple[str, int]], enrolment_id: str):
    with transaction(conn):
        _unpark(conn, result, batch)
        record_call(conn, now, result.role, result.program_id, len(batch), ACCEPTED, enrolment_id=enrolment_id)
        conn.execute(
            """INSERT OR IGNORE INTO dotmailer.enrolments
               SELECT $program_id, unnest($contact_ids::BIGINT[]), $role, unnest($email_keys::VARCHAR[]),
                      $enrolment_id, $now""",
            {"program_id": result.program_id, "contact_ids": [c for _, c in batch], "role": result.role,
             "email_keys": [e for e, _ in batch], "enrolment_id": enrolment_id, "now": now},
        )


def _record_failed_call(conn, now: datetime, result: EnrolmentResult, batch: list[tuple[str, int]], outcome: str,
                        reason: str) -> None:
    with transaction(conn):
        record_call(conn, now, result.role, result.program_id, len(batch), outcome, detail=reason)
        _park_rows(conn, now, result, batch, reason)
