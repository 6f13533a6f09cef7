"""Contacts bulk import: ids and failures per contact, chunking, whole-chunk rejections, resuming."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bc_pipeline.dotmailer.address_books import find_or_create_address_book
from bc_pipeline.dotmailer.bulk_import import encode_json
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.contacts import import_contacts, resume_contact_import
from bc_pipeline.sandbox.dotmailer import DotmailerSandbox
from bc_pipeline.sandbox.server import serve_in_thread
from bc_pipeline_tests.dotmailer_client.conftest import API_PASSWORD, API_USER, sandbox_config


def _contacts(book_id, count, prefix="customer"):
    return [
        {
            "email": f"{prefix}{n}@example.com",
            "data_fields": {"FIRSTNAME": f"Name {n}", "LASTNAME": "Ünïcødé"},
            "lists": [book_id],
        }
        for n in range(count)
    ]


def _book_emails(sandbox, book_id):
    book = next(book for book in sandbox.state()["address_books"] if book["id"] == book_id)
    return sorted(contact["email"] for contact in book["contacts"])


def test_import_returns_contact_ids_and_per_contact_failures(client, sandbox):
    book = find_or_create_address_book(client, "Store customers")
    contacts = _contacts(book.id, 3) + [{"email": "not-an-email", "lists": [book.id]}, {"email": "  "}]

    report = import_contacts(client, contacts, poll_interval=0.001)

    by_email = {result.email: result for result in report.results}
    assert len(report.results) == 5
    for n in range(3):
        result = by_email[f"customer{n}@example.com"]
        assert result.outcome == "created" and result.contact_id and result.import_id
    assert by_email["not-an-email"].outcome == "failed"
    assert "email" in by_email["not-an-email"].failure_code.lower()
    assert by_email[""].failure_code == "missingEmail"
    state_ids = {contact["email"]: contact["id"] for contact in sandbox.state()["contacts"]}
    assert all(state_ids[email] == by_email[email].contact_id for email in state_ids)
    assert _book_emails(sandbox, book.id) == [f"customer{n}@example.com" for n in range(3)]


def test_second_import_updates_and_null_clears_a_field(client, sandbox):
    book = find_or_create_address_book(client, "Store customers")
    first = import_contacts(client, _contacts(book.id, 1), poll_interval=0.001)

    second = import_contacts(
        client,
        [{"email": "CUSTOMER0@example.com", "data_fields": {"FIRSTNAME": None}, "lists": [book.id]}],
        poll_interval=0.001,
    )

    assert second.results[0].outcome == "updated"
    assert second.results[0].contact_id == first.results[0].contact_id
    assert not sandbox.state()["contacts"][0]["dataFields"].get("FIRSTNAME")


def test_small_byte_limit_splits_into_several_imports_and_everything_arrives(client, sandbox):
    book = find_or_create_address_book(client, "Store customers")
    accepted = []

    report = import_contacts(
        client,
        _contacts(book.id, 40),
        max_chunk_bytes=1500,
        max_active_imports=3,
        poll_interval=0.001,
        on_accepted=lambda import_id, emails: accepted.append((import_id, emails)),
    )

    assert len(accepted) >= 4
    assert len(report.chunks) == len(accepted)
    assert sandbox.stats()["requests"]["PUT /contacts/v3/import"] == len(accepted)
    assert sum(len(emails) for _, emails in accepted) == 40
    assert len(report.succeeded) == 40
    assert _book_emails(sandbox, book.id) == sorted(f"customer{n}@example.com" for n in range(40))


def test_each_chunk_is_handed_over_as_it_ends_and_the_returned_report_keeps_none(client, sandbox):
    book = find_or_create_address_book(client, "Store customers")
    parts = []

    report = import_contacts(
        client, _contacts(book.id, 5) + [{"email": " "}], max_contacts_per_chunk=2, max_active_imports=1,
        poll_interval=0.001, on_chunk_report=parts.append,
    )

    assert (report.results, report.chunks) == ([], [])
    assert [[chunk.item_count for chunk in part.chunks] for part in parts] == [[2], [2], [1]]
    for part in parts:
        [chunk] = part.chunks
        assert {result.import_id for result in part.results if result.outcome == "created"} == {chunk.import_id}
    outcomes = sorted((result.email, result.outcome) for part in parts for result in part.results)
    assert outcomes == [("", "failed")] + [(f"customer{n}@example.com", "created") for n in range(5)]


def test_contact_too_big_for_any_request_is_failed_alone(client):
    book = find_or_create_address_book(client, "Store customers")
    huge = {"email": "huge@example.com", "data_fields": {"NOTES_TEXT": "x" * 5000}, "lists": [book.id]}

    report = import_contacts(client, [huge] + _contacts(book.id, 2), max_chunk_bytes=2000, poll_interval=0.001)

    by_email = {result.email: result for result in report.results}
    assert by_email["huge@example.com"].failure_code == "tooLarge"
    assert by_email["customer0@example.com"].outcome == "created"


def test_suppressed_contact_fails_and_stays_suppressed(client, sandbox):
    book = find_or_create_address_book(client, "Store subscribers")
    sandbox.suppress("gone@example.com")

    report = import_contacts(
        client, [{"email": "gone@example.com", "lists": [book.id], "status": "subscribed"}], poll_interval=0.001
    )

    assert report.results[0].outcome == "failed"
    assert "suppress" in report.results[0].failure_code.lower()
    assert _book_emails(sandbox, book.id) == []
    assert [row["email"] for row in sandbox.state()["suppressions"]] == ["gone@example.com"]
    contact = next(row for row in sandbox.state()["contacts"] if row["email"] == "gone@example.com")
    assert contact["status"] != "Subscribed"


def test_rejected_and_failed_chunks_are_reported_while_the_others_land(client, sandbox):
    book = find_or_create_address_book(client, "Store customers")
    sandbox.set_fault("import_rejected", count=1)

    report = import_contacts(
        client, _contacts(book.id, 30), max_contacts_per_chunk=10, max_active_imports=1, poll_interval=0.001
    )
    sandbox.set_fault("import_failed", count=1)
    second = import_contacts(
        client, _contacts(book.id, 20, prefix="later"), max_contacts_per_chunk=10, max_active_imports=1,
        poll_interval=0.001,
    )

    assert [chunk.status for chunk in report.chunks] == ["RejectedByWatchdog", "Finished", "Finished"]
    assert "Watchdog" in report.chunks[0].detail
    assert {result.failure_code for result in report.failed} == {"RejectedByWatchdog"}
    assert len(report.failed) == 10 and len(report.succeeded) == 20
    assert [chunk.status for chunk in second.chunks] == ["Failed", "Finished"]
    assert len(second.failed) == 10 and len(second.succeeded) == 10
    landed = _book_emails(sandbox, book.id)
    assert len(landed) == 30
    assert not {result.email for result in report.failed + second.failed} & set(landed)


def test_accepted_import_is_resumed_without_sending_again(client, sandbox):
    book = find_or_create_address_book(client, "Store customers")
    accepted = []
    import_contacts(
        client,
        _contacts(book.id, 3),
        poll_interval=0.001,
        on_accepted=lambda import_id, emails: accepted.append((import_id, emails)),
    )
    import_id, emails = accepted[0]

    resumed = resume_contact_import(client, import_id, emails, poll_interval=0.001)
    listed_only = resume_contact_import(client, import_id, poll_interval=0.001)

    assert sandbox.stats()["requests"]["PUT /contacts/v3/import"] == 1
    assert [result.outcome for result in resumed.results] == ["created"] * 3
    assert sorted(result.email for result in listed_only.results) == sorted(emails)


def test_unfinished_import_is_left_pending_with_its_id(client, sandbox):
    book = find_or_create_address_book(client, "Store customers")

    report = import_contacts(client, _contacts(book.id, 2), poll_interval=0.0, poll_timeout=0.0)

    assert {result.outcome for result in report.results} == {"pending"}
    assert report.chunks[0].status == "NotFinished" and report.chunks[0].import_id
    finished = resume_contact_import(
        client, report.chunks[0].import_id, [r.email for r in report.results], poll_interval=0.001
    )
    assert {result.outcome for result in finished.results} == {"created"}


def _dedicated_sandbox(sleeps, **config):
    sandbox = DotmailerSandbox(sandbox_config(**config))
    server = serve_in_thread(sandbox.app)
    return sandbox, server, DotmailerClient(API_USER, API_PASSWORD, base_url=server.url, sleep=sleeps)


def _import_in_pairs(sleeps, count: int, sandbox_settings: dict, **options):
    """Import `count` contacts two per chunk into a sandbox of their own; the sandbox, the report and the emails
    that landed in the book."""
    sandbox, server, client = _dedicated_sandbox(sleeps, **sandbox_settings)
    try:
        book = find_or_create_address_book(client, "Store customers")
        report = import_contacts(client, _contacts(book.id, count), max_contacts_per_chunk=2, **options)
        return sandbox, report, _book_emails(sandbox, book.id)
    finally:
        client.close()
        server.stop()


def test_active_imports_stay_within_the_window(sleeps):
    sandbox, report, _ = _import_in_pairs(sleeps, 12, {"max_active_contact_imports": 3, "import_steps": 3},
                                          max_active_imports=3, poll_interval=0.001)

    assert len(report.chunks) == 6 and len(report.succeeded) == 12
    assert "429" not in sandbox.stats()["status_counts"]


def test_dotmailer_full_of_imports_holds_chunks_until_one_finishes(sleeps):
    sandbox, report, landed = _import_in_pairs(sleeps, 10, {"max_active_contact_imports": 2, "import_steps": 2},
                                               max_active_imports=5, poll_interval=0.001)

    assert sandbox.stats()["status_counts"]["429"] >= 1
    assert len(report.succeeded) == 10 and len(landed) == 10
    assert all(wait < 1 for wait in sleeps.waits)


def test_an_import_started_late_is_waited_on_no_longer_than_the_first(sleeps):
    _, report, _ = _import_in_pairs(sleeps, 8, {"max_active_contact_imports": 2, "import_steps": 2},
                                    max_active_imports=2, poll_interval=10.0)

    assert len(report.chunks) == 4 and len(report.succeeded) == 8
    # Two imports at a time, each finished on its third look (0.25 s, 0.5 s and 1 s after it started): the
    # second pair is looked at on the same short schedule as the first, not after ever longer waits.
    assert sum(sleeps.waits) == pytest.approx(2 * (0.25 + 0.5 + 1.0))


def test_emails_differing_only_in_case_get_one_outcome_each(client, sandbox):
    book = find_or_create_address_book(client, "Store customers")

    report = import_contacts(
        client,
        [{"email": "Dup@Example.com", "lists": [book.id]}, {"email": "dup@example.com", "lists": [book.id]}],
        poll_interval=0.001,
    )

    outcomes = sorted(result.outcome for result in report.results)
    assert len(report.results) == 2
    assert outcomes[0] == "created" and outcomes[1] == "failed"
    assert len(sandbox.state()["contacts"]) == 1


def test_bodies_carry_what_json_allows_and_name_what_it_cannot():
    # orjson encodes the bodies; the standard library takes what orjson refuses, and NaN, which JSON lacks, is null.
    assert encode_json({"big": 2**70, 7: "id"}) == b'{"big":1180591620717411303424,"7":"id"}'
    assert encode_json({"spend": float("nan"), "since": date(2024, 2, 29), "total": Decimal("12.50")}) == (
        b'{"spend":null,"since":"2024-02-29","total":12.5}'
    )
    with pytest.raises(TypeError, match="cannot send a object to dotmailer"):
        encode_json({"value": object()})
