"""Program enrolment rules: Active only, contact ids not emails, contacts xor books, 20 calls per rolling hour."""

from __future__ import annotations

import pytest

from .helpers import contact, create_book, import_contacts


@pytest.fixture
def programs(live) -> dict[str, dict]:
    return {p["name"]: p for p in live.api.get("/v2/programs").json()}


def _contact_id(live, email: str) -> int:
    return import_contacts(live.api, [contact(email)])["created"][0]["contactId"]


def _enrol(live, **body):
    return live.api.post("/v2/programs/enrolments", json=body)


def test_the_sandbox_starts_with_the_documented_programs(programs):
    assert {name: p["status"] for name, p in programs.items()} == {
        "New customers welcome": "Active",
        "New subscribers welcome": "Active",
        "Abandoned basket": "Active",
        "Old draft": "Draft",
    }


def test_enrolment_of_contact_ids_into_an_active_program(live, programs):
    contact_id = _contact_id(live, "new@example.com")
    program_id = programs["New customers welcome"]["id"]
    created = _enrol(live, programId=program_id, contacts=[contact_id])
    assert created.status_code == 201
    enrolment = created.json()
    assert (enrolment["programId"], enrolment["contacts"], enrolment["status"]) == (program_id, [contact_id], "Processing")
    assert live.api.get(f"/v2/programs/enrolments/{enrolment['id']}").status_code == 200
    assert live.api.get(f"/v2/programs/enrolments/{enrolment['id']}").json()["status"] == "Finished"
    assert live.sandbox.state()["enrolments"] == [
        {"id": enrolment["id"], "programId": program_id, "contacts": [contact_id], "status": "Finished"}
    ]


def test_pascal_case_bodies_bind_as_the_real_api_binds_them(live, programs):
    contact_id = _contact_id(live, "m2@example.com")
    response = live.api.post(
        "/v2/programs/enrolments", json={"ProgramId": programs["Abandoned basket"]["id"], "Contacts": [contact_id]}
    )
    assert response.status_code == 201


def test_the_rules_refuse_what_the_real_api_refuses(live, programs):
    contact_id = _contact_id(live, "rules@example.com")
    book_id = create_book(live.api, "Store customers")
    active = programs["New subscribers welcome"]["id"]

    draft = _enrol(live, programId=programs["Old draft"]["id"], contacts=[contact_id])
    assert (draft.status_code, draft.json()) == (422, {"message": "Error: ERROR_PROGRAM_NOT_ACTIVE"})

    by_email = _enrol(live, programId=active, contacts=["rules@example.com"])
    assert (by_email.status_code, by_email.json()) == (400, {"message": "Error: ERROR_CONTACT_NOT_FOUND"})
    unknown = _enrol(live, programId=active, contacts=[contact_id + 12345])
    assert (unknown.status_code, unknown.json()["message"]) == (400, "Error: ERROR_CONTACT_NOT_FOUND")

    both = _enrol(live, programId=active, contacts=[contact_id], addressBooks=[book_id])
    assert (both.status_code, both.json()["message"]) == (400, "Error: ERROR_ENROLMENT_INVALID")
    neither = _enrol(live, programId=active)
    assert (neither.status_code, neither.json()["message"]) == (400, "Error: ERROR_ENROLMENT_INVALID")

    missing = _enrol(live, programId=1, contacts=[contact_id])
    assert (missing.status_code, missing.json()["message"]) == (404, "Error: ERROR_PROGRAM_NOT_FOUND")
    assert live.api.get("/v2/programs/enrolments/00000000-0000-4000-8000-000000000000").status_code == 404
    assert live.sandbox.state()["enrolments"] == []


def test_an_address_book_enrolment_enrols_its_members_but_not_the_suppressed(live, programs):
    book_id = create_book(live.api, "Store customers")
    ids = [c["contactId"] for c in import_contacts(live.api, [contact("a@x.com", [book_id]), contact("b@x.com", [book_id])])["created"]]
    live.sandbox.suppress("b@x.com")
    created = _enrol(live, programId=programs["New customers welcome"]["id"], addressBooks=[book_id])
    assert created.status_code == 201
    assert live.sandbox.state()["enrolments"][0]["contacts"] == [ids[0]]
    faults_path = f"/v2/programs/enrolments/{created.json()['id']}/report-faults"
    assert live.api.get(faults_path).status_code == 400
    live.api.get(f"/v2/programs/enrolments/{created.json()['id']}")
    assert live.api.get(faults_path).text == f"Id,Email,TelephoneNumber,Reason\n{ids[1]},b@x.com,,Unsubcribed\n"


def test_twenty_calls_an_hour_then_allowance_exceeded_until_the_hour_passes(live, programs):
    contact_id = _contact_id(live, "budget@example.com")
    program_id = programs["New customers welcome"]["id"]
    # a refused call spends the allowance as an accepted one does
    assert _enrol(live, programId=programs["Old draft"]["id"], contacts=[contact_id]).status_code == 422
    for _ in range(19):
        assert _enrol(live, programId=program_id, contacts=[contact_id]).status_code == 201
    exceeded = _enrol(live, programId=programs["Abandoned basket"]["id"], contacts=[contact_id])
    assert (exceeded.status_code, exceeded.json()) == (400, {"message": "Error: ERROR_ENROLMENT_ALLOWANCE_EXCEEDED"})

    live.control("POST", "/_sandbox/clock", json={"advance_seconds": 3000})
    assert _enrol(live, programId=program_id, contacts=[contact_id]).status_code == 400
    live.control("POST", "/_sandbox/clock", json={"advance_seconds": 601})
    assert _enrol(live, programId=program_id, contacts=[contact_id]).status_code == 201


def test_a_program_switched_off_refuses_until_switched_back_on(live, programs):
    contact_id = _contact_id(live, "later@example.com")
    program_id = programs["New customers welcome"]["id"]
    live.control("POST", "/_sandbox/programs", json={"id": program_id, "status": "Deactivated"})
    assert live.api.get(f"/v2/programs/{program_id}").json()["status"] == "Deactivated"
    assert _enrol(live, programId=program_id, contacts=[contact_id]).status_code == 422
    live.sandbox.set_program_status(program_id, "Active")
    assert _enrol(live, programId=program_id, contacts=[contact_id]).status_code == 201
