"""Contacts bulk import through `PUT /contacts/v3/import`, with a result for every contact sent.

The import status lists the contact ids dotmailer created or updated (program enrolment needs them) and the
contacts it refused with a failure code, so each input contact ends as created, updated, failed or pending.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bc_pipeline.dotmailer.bulk_import import (
    DEFAULT_MAX_CHUNK_BYTES,
    Chunk,
    ImportChunkOutcome,
    encode_json,
    handing_over,
    import_in_chunks,
    poll_until_finished,
)
from bc_pipeline.dotmailer.client import DotmailerClient

MAX_ACTIVE_CONTACT_IMPORTS = 25
DEFAULT_MAX_CONTACTS_PER_CHUNK = 10_000
MAX_LISTS_PER_CONTACT = 100
MERGE_OPTIONS = ("overwrite", "overwriteIfNotEmpty", "overwriteIfEmpty")

_RUNNING_STATUSES = frozenset({"NotFinished", "NotStarted", "Processing"})
_OPT_IN_TYPES = {value.lower(): value for value in ("unknown", "single", "double", "verifiedDouble")}
_EMAIL_STATUSES = frozenset({"subscribed", "unsubscribed", "suppressed"})

_CHUNK_FAILURE_REASONS = {
    "RejectedByWatchdog": "dotmailer's Data Watchdog rejected the whole import for its data quality",
    "Failed": "dotmailer reported the import Failed",
    "ExceedsAllowedContactLimit": "the import would take the account over its allowed number of contacts",
}


@dataclass(frozen=True)
class ContactImportResult:
    """One input contact's fate. `outcome` is created, updated, failed or pending (import still running)."""

    email: str
    outcome: str
    contact_id: int | None = None
    failure_code: str | None = None
    reason: str | None = None
    import_id: str | None = None


@dataclass
class ContactImportReport:
    results: list[ContactImportResult] = field(default_factory=list)
    chunks: list[ImportChunkOutcome] = field(default_factory=list)

    def with_outcome(self, *outcomes: str) -> list[ContactImportResult]:
        return [result for result in self.results if result.outcome in outcomes]

    @property
    def succeeded(self) -> list[ContactImportResult]:
        return self.with_outcome("created", "updated")

    @property
    def failed(self) -> list[ContactImportResult]:
        return self.with_outcome("failed")

    @property
    def pending(self) -> list[ContactImportResult]:
        return self.with_outcome("pending")


def contact_request(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The v3 import shape of `{"email", "data_fields", "lists", "opt_in_type"?, "status"?, "email_type"?}`.

    A `None` data field value is sent as null, which clears that field in dotmailer.
    """
    request: dict[str, Any] = {"matchIdentifier": "email", "identifiers": {"email": str(contact["email"]).strip()}}
    data_fields = contact.get("data_fields") or {}
    if data_fields:
        request["dataFields"] = dict(data_fields)
    lists = [int(book_id) for book_id in contact.get("lists") or []]
    if len(lists) > MAX_LISTS_PER_CONTACT:
        raise ValueError(f"a contact can join at most {MAX_LISTS_PER_CONTACT} address books in one import")
    if lists:
        request["lists"] = lists
    email_properties: dict[str, str] = {}
    if contact.get("opt_in_type"):
        opt_in = _OPT_IN_TYPES.get(str(contact["opt_in_type"]).lower())
        if opt_in is None:
            known = ", ".join(_OPT_IN_TYPES.values())
            raise ValueError(f"opt-in type {contact['opt_in_type']!r} is not one of {known}")
        email_properties["optInType"] = opt_in
    if contact.get("status"):
        status = str(contact["status"]).lower()
        if status not in _EMAIL_STATUSES:
            raise ValueError(f"email status {contact['status']!r} is not one of {', '.join(sorted(_EMAIL_STATUSES))}")
        email_properties["status"] = status
    if contact.get("email_type"):
        email_properties["emailType"] = "plainText" if str(contact["email_type"]).lower() == "plaintext" else "html"
    if email_properties:
        request["channelProperties"] = {"email": email_properties}
    return request


def import_contacts(
    client: DotmailerClient,
    contacts: Iterable[Mapping[str, Any]],
    *,
    merge_option: str = "overwrite",
    max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
    max_contacts_per_chunk: int = DEFAULT_MAX_CONTACTS_PER_CHUNK,
    max_active_imports: int = MAX_ACTIVE_CONTACT_IMPORTS,
    poll_interval: float = 5.0,
    poll_timeout: float = 3600.0,
    on_accepted: Callable[[str, list[str]], None] | None = None,
    on_chunk_report: Callable[[ContactImportReport], None] | None = None,
) -> ContactImportReport:
    """Create or update contacts in bulk and report what happened to each one.

    `on_accepted(import_id, emails)` is called as soon as dotmailer accepts a chunk, before it is polled, so the
    caller can record the import id and, after a crash, resume it with `resume_contact_import` instead of
    sending again. A chunk dotmailer rejects as a whole (RejectedByWatchdog, Failed,
    ExceedsAllowedContactLimit) fails its own contacts with that reason; the other chunks carry on.

    With `on_chunk_report`, each chunk's results go to it as the chunk ends and the returned report stays empty.
    """
    if merge_option not in MERGE_OPTIONS:
        raise ValueError(f"merge option {merge_option!r} is not one of {', '.join(MERGE_OPTIONS)}")
    report = ContactImportReport()

    def reject(email: str, code: str, reason: str) -> None:
        report.results.append(ContactImportResult(email=email, outcome="failed", failure_code=code, reason=reason))

    def encoded_contacts() -> Iterator[tuple[str, bytes]]:
        for contact in contacts:
            email = str(contact.get("email") or "").strip()
            if not email:
                reject(email, "missingEmail", "the contact has no email address")
                continue
            yield email, encode_json(contact_request(contact))

    def submit(chunk: Chunk[str]) -> str:
        import_id = _submit_contacts_chunk(client, chunk)
        if on_accepted is not None:
            on_accepted(import_id, list(chunk.items))
        return import_id

    import_in_chunks(
        client,
        encoded_contacts(),
        head=b'{"mergeOption":' + encode_json(merge_option) + b',"contacts":[',
        on_oversized=lambda email, size: reject(
            email, "tooLarge", f"the contact's data is {size} bytes, over the {max_chunk_bytes}-byte request limit"
        ),
        submit=submit,
        finished_status=lambda import_id: _finished_status(client, import_id),
        reject=reject,
        record_chunk=lambda emails, import_id, status: _record_chunk(report, emails, import_id, status),
        chunk_outcomes=report.chunks,
        max_bytes=max_chunk_bytes,
        max_items=max_contacts_per_chunk,
        max_active=max_active_imports,
        poll_interval=poll_interval,
        poll_timeout=poll_timeout,
        chunk_ended=handing_over(report, on_chunk_report),
    )
    return report


def resume_contact_import(
    client: DotmailerClient,
    import_id: str,
    emails: Sequence[str] | None = None,
    *,
    poll_interval: float = 5.0,
    poll_timeout: float = 3600.0,
) -> ContactImportReport:
    """Finish following an import dotmailer accepted earlier, without sending anything again.

    With `emails` (what the chunk held) every one gets a result; without, the report holds what dotmailer lists.
    """
    status = poll_until_finished(
        client,
        import_id,
        finished_status=lambda import_id: _finished_status(client, import_id),
        poll_interval=poll_interval,
        poll_timeout=poll_timeout,
    )
    report = ContactImportReport()
    if emails is None and status is not None:
        emails = [email for email, _ in _listed_outcomes(status)]
    _record_chunk(report, list(emails or []), import_id, status)
    return report


def _submit_contacts_chunk(client: DotmailerClient, chunk: Chunk[str]) -> str:
    accepted = client.call(
        "PUT",
        "/contacts/v3/import",
        operation=f"import {len(chunk.items)} contacts",
        body=chunk.body,
        wait_on_rate_limit=False,
    )
    import_id = accepted.get("importId") if isinstance(accepted, dict) else None
    if not import_id:
        raise ValueError("dotmailer accepted a contacts import without returning its importId")
    return str(import_id)


def _finished_status(client: DotmailerClient, import_id: str) -> dict[str, Any] | None:
    status = client.call("GET", f"/contacts/v3/import/{import_id}", operation=f"get contacts import {import_id}")
    if not isinstance(status, dict) or status.get("status") in _RUNNING_STATUSES:
        return None
    return status


def _record_chunk(
    report: ContactImportReport, emails: list[str], import_id: str | None, status: dict[str, Any] | None
) -> None:
    if status is None:
        report.chunks.append(ImportChunkOutcome(import_id, "NotFinished", len(emails)))
        report.results.extend(
            ContactImportResult(email=email, outcome="pending", import_id=import_id) for email in emails
        )
        return
    final = str(status.get("status"))
    if final != "Finished":
        reason = _CHUNK_FAILURE_REASONS.get(final, f"dotmailer ended the import with status {final}")
        report.chunks.append(ImportChunkOutcome(import_id, final, len(emails), reason))
        report.results.extend(
            ContactImportResult(email=email, outcome="failed", failure_code=final, reason=reason, import_id=import_id)
            for email in emails
        )
        return
    report.chunks.append(ImportChunkOutcome(import_id, final, len(emails)))
    matcher = _ListedOutcomes(_listed_outcomes(status))
    for email in emails:
        result = matcher.take(email)
        if result is not None:
            report.results.append(
                ContactImportResult(
                    email=email,
                    outcome=result.outcome,
                    contact_id=result.contact_id,
                    failure_code=result.failure_code,
                    reason=result.reason,
                    import_id=import_id,
                )
            )
        else:
            report.results.append(
                ContactImportResult(
                    email=email,
                    outcome="failed",
                    failure_code="notReported",
                    reason="dotmailer finished the import without listing this contact as created, updated or failed",
                    import_id=import_id,
                )
            )


class _ListedOutcomes:
    """Hands each input email the outcome dotmailer listed for it, exact spelling first.

    Two inputs differing only in case are one contact to dotmailer: one is imported and the other reported as a
    duplicate, and each listed outcome must go to exactly one input.
    """

    def __init__(self, listed: Iterable[tuple[str, ContactImportResult]]):
        self._outcomes: list[ContactImportResult] = []
        self._by_exact: dict[str, deque[int]] = defaultdict(deque)
        self._by_folded: dict[str, deque[int]] = defaultdict(deque)
        self._taken: set[int] = set()
        for index, (email, result) in enumerate(listed):
            self._outcomes.append(result)
            self._by_exact[email].append(index)
            self._by_folded[email.casefold()].append(index)

    def take(self, email: str) -> ContactImportResult | None:
        for queue in (self._by_exact.get(email), self._by_folded.get(email.casefold())):
            while queue:
                index = queue.popleft()
                if index not in self._taken:
                    self._taken.add(index)
                    return self._outcomes[index]
        return None


def _listed_outcomes(status: dict[str, Any]) -> Iterator[tuple[str, ContactImportResult]]:
    for outcome in ("created", "updated"):
        for entry in status.get(outcome) or []:
            email = str((entry.get("identifiers") or {}).get("email") or "")
            contact_id = entry.get("contactId")
            yield email, ContactImportResult(
                email=email, outcome=outcome, contact_id=int(contact_id) if contact_id is not None else None
            )
    for entry in status.get("failures") or []:
        email = str((entry.get("identifiers") or {}).get("email") or "")
        reasons = [item for item in entry.get("failures") or [] if isinstance(item, dict)]
        code = ",".join(str(item.get("failureCode")) for item in reasons if item.get("failureCode")) or "unknown"
        reason = "; ".join(str(item.get("description")) for item in reasons if item.get("description")) or None
        yield email, ContactImportResult(email=email, outcome="failed", failure_code=code, reason=reason)
