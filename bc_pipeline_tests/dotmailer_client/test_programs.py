"""Programs and enrolments: contact ids only, Active programs only, 20 calls an hour."""

from __future__ import annotations

import pytest

from bc_pipeline.dotmailer.address_books import find_or_create_address_book
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.contacts import import_contacts
from bc_pipeline.dotmailer.errors import EnrolmentAllowanceExceeded, ProgramNotActive
from bc_pipeline.dotmailer.programs import enrol, enrol_contacts, enrolment_status, get_program, list_programs
from bc_pipeline.sandbox.dotmailer import DotmailerSandbox
from bc_pipeline.sandbox.server import serve_in_thread
from bc_pipeline_tests.dotmailer_client.conftest import API_PASSWORD, API_USER, sandbox_config


def _contact_ids(client, count):
    book = find_or_create_address_book(client, "Store customers")
    contacts = [{"email": f"new{n}@example.com", "lists": [book.id]} for n in range(count)]
    return [result.contact_id for result in import_contacts(client, contacts, poll_interval=0.001).succeeded]


def _program(client, name):
    return next(program for program in list_programs(client) if program.name == name)


def test_programs_are_listed_with_status(client):
    programs = {program.name: program for program in list_programs(client)}

    assert programs["New customers welcome"].is_active
    assert programs["Abandoned basket"].status == "Active"
    assert programs["Old draft"].status == "Draft" and not programs["Old draft"].is_active
    assert get_program(client, programs["Abandoned basket"].id) == programs["Abandoned basket"]


def test_contacts_are_enrolled_by_id_in_batches(client, sandbox):
    ids = _contact_ids(client, 30)
    program = _program(client, "New customers welcome")

    enrolments, left = enrol_contacts(client, program.id, ids, batch_size=25)

    assert left == []
    assert [len(enrolment.contact_ids) for enrolment in enrolments] == [25, 5]
    recorded = [row for row in sandbox.state()["enrolments"] if row["programId"] == program.id]
    assert sorted(contact for row in recorded for contact in row["contacts"]) == sorted(ids)
    assert enrolment_status(client, enrolments[0].id).id == enrolments[0].id


def test_max_calls_leaves_the_rest_for_later(client):
    ids = _contact_ids(client, 6)
    program = _program(client, "New subscribers welcome")

    enrolments, left = enrol_contacts(client, program.id, ids, batch_size=2, max_calls=2)

    assert len(enrolments) == 2 and left == ids[4:]


def test_inactive_program_is_its_own_exception(client):
    ids = _contact_ids(client, 1)

    with pytest.raises(ProgramNotActive) as caught:
        enrol_contacts(client, _program(client, "Old draft").id, ids)

    assert caught.value.code == "ERROR_PROGRAM_NOT_ACTIVE"
    assert caught.value.pending_contact_ids == ids
    assert API_PASSWORD not in str(caught.value)


def test_hourly_allowance_is_its_own_exception_keeping_what_went_through(sleeps):
    sandbox = DotmailerSandbox(sandbox_config(enrolment_calls_per_hour=2))
    server = serve_in_thread(sandbox.app)
    try:
        with DotmailerClient(API_USER, API_PASSWORD, base_url=server.url, sleep=sleeps) as client:
            ids = _contact_ids(client, 5)
            with pytest.raises(EnrolmentAllowanceExceeded) as caught:
                enrol_contacts(client, _program(client, "Abandoned basket").id, ids, batch_size=2)
    finally:
        server.stop()

    refusal = caught.value
    assert refusal.code == "ERROR_ENROLMENT_ALLOWANCE_EXCEEDED"
    assert [enrolment.contact_ids for enrolment in refusal.enrolled] == [tuple(ids[:2]), tuple(ids[2:4])]
    assert refusal.pending_contact_ids == ids[4:]
    assert all(wait < 1 for wait in sleeps.waits)


def test_single_enrolment_refuses_more_than_25_contacts(client):
    with pytest.raises(ValueError, match="25"):
        enrol(client, 1, range(26))
