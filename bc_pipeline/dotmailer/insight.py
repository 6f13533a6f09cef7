"""Insight data v3: bulk import into a collection with a result per record, and record deletion.

Contact-scoped collections (`Orders`, `CartInsight`) attach each record to a contact by email; account-scoped
ones (`Catalog_Default`) belong to the account. A record whose contact does not exist yet fails with
`ContactEmailDoesNotExist` and can be sent again once the contact is imported.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

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
from bc_pipeline.dotmailer.errors import DotmailerApiError

MAX_ACTIVE_INSIGHT_IMPORTS = 5
DEFAULT_MAX_RECORDS_PER_CHUNK = 5_000
# dotmailer limits an import by bytes, not records; this bounds the request body held in memory (about 12 MB of
# orders).
MAX_RECORDS_PER_CHUNK = 10_000
MAX_KEYS_PER_DELETE = 5_000
COLLECTION_SCOPES = ("account", "contact")
COLLECTION_TYPES = (
    "cartInsight",
    "catalog",
    "consentInsight",
    "custom",
    "easyEditorExtensions",
    "nostoEmailCampaigns",
    "orders",
    "productCategories",
    "webInsight",
    "wishList",
)
_COLLECTION_NAME = re.compile(r"[-A-Za-z_][-A-Za-z0-9_]{1,255}")
_RUNNING_STATUSES = frozenset({"NotStarted", "Processing", "NotFinished"})
_SUCCESS_STATUSES = frozenset({"Complete", "Finished"})


@dataclass(frozen=True)
class InsightRecordResult:
    """One input record's fate. `outcome` is imported, failed or pending (import still running)."""

    key: str
    outcome: str
    reason: str | None = None
    details: tuple[str, ...] = ()
    email: str | None = None
    import_id: str | None = None


@dataclass
class InsightImportReport:
    collection_name: str
    results: list[InsightRecordResult] = field(default_factory=list)
    chunks: list[ImportChunkOutcome] = field(default_factory=list)

    def with_outcome(self, *outcomes: str) -> list[InsightRecordResult]:
        return [result for result in self.results if result.outcome in outcomes]

    @property
    def imported(self) -> list[InsightRecordResult]:
        return self.with_outcome("imported")

    @property
    def failed(self) -> list[InsightRecordResult]:
        return self.with_outcome("failed")

    @property
    def pending(self) -> list[InsightRecordResult]:
        return self.with_outcome("pending")


@dataclass(frozen=True)
class _SentRecord:
    key: str
    email: str | None


@dataclass(frozen=True)
class DeleteSummary:
    deleted: int
    not_found: list[str]


def records_per_chunk(pending: int, max_active: int = MAX_ACTIVE_INSIGHT_IMPORTS) -> int:
    """Records per import for a load of `pending`: enough that the load fills dotmailer's concurrent imports in as
    few rounds as the size bound allows, since an import beyond the limit waits for a running one to end."""
    per_round = -(-pending // max_active)
    return min(MAX_RECORDS_PER_CHUNK, max(DEFAULT_MAX_RECORDS_PER_CHUNK, per_round))


def validate_collection_name(name: str) -> str:
    if not _COLLECTION_NAME.fullmatch(name or ""):
        raise ValueError(
            f"Insight collection name {name!r} must be 2-256 letters, digits, '_' or '-', not starting with a digit"
        )
    return name


def import_insight(
    client: DotmailerClient,
    collection_name: str,
    records: Iterable[Mapping[str, Any]],
    *,
    scope: str,
    collection_type: str = "custom",
    max_chunk_bytes: int = DEFAULT_MAX_CHUNK_BYTES,
    max_records_per_chunk: int = DEFAULT_MAX_RECORDS_PER_CHUNK,
    max_active_imports: int = MAX_ACTIVE_INSIGHT_IMPORTS,
    poll_interval: float = 5.0,
    poll_timeout: float = 3600.0,
    on_accepted: Callable[[str, list[str]], None] | None = None,
    on_chunk_report: Callable[[InsightImportReport], None] | None = None,
) -> InsightImportReport:
    """Upsert records `{"key", "json": {...}, "email"?}` into a collection and report each record's fate.

    `json` is a mapping, or the text of a JSON object, which is sent unparsed.

    `email` names the owning contact and is required for contact scope. `on_accepted(import_id, keys)` runs as
    soon as dotmailer accepts a chunk (resume it with `resume_insight_import`). Raises InsightNotEnabled when
    the account has no Insight data; any other refusal fails only that chunk's records.

    With `on_chunk_report`, each chunk's results go to it as the chunk ends and the returned report stays empty.
    """
    validate_collection_name(collection_name)
    if scope not in COLLECTION_SCOPES:
        raise ValueError(f"Insight collection scope {scope!r} is not one of {', '.join(COLLECTION_SCOPES)}")
    if collection_type not in COLLECTION_TYPES:
        raise ValueError(f"Insight collection type {collection_type!r} is not one of {', '.join(COLLECTION_TYPES)}")
    report = InsightImportReport(collection_name)

    def reject(record: _SentRecord, reason: str, detail: str) -> None:
        report.results.append(
            InsightRecordResult(key=record.key, outcome="failed", reason=reason, details=(detail,), email=record.email)
        )

    def encoded_records() -> Iterator[tuple[_SentRecord, bytes]]:
        for record in records:
            sent = _SentRecord(key=str(record["key"]), email=record.get("email"))
            record_json = _encoded_object(record.get("json"))
            if record_json is None:
                reject(sent, "InvalidJson", "the record's json must be an object")
                continue
            identity = b""
            if scope == "contact":
                if not sent.email:
                    reject(sent, "InvalidContactIdentifier", "a contact-scoped record needs its contact's email")
                    continue
                identity = b',"contactIdentity":' + encode_json({"identifier": "email", "value": sent.email})
            yield sent, b'{"key":' + encode_json(sent.key) + identity + b',"json":' + record_json + b"}"

    def submit(chunk: Chunk[_SentRecord]) -> str:
        import_id = _submit_insight_chunk(client, collection_name, chunk)
        if on_accepted is not None:
            on_accepted(import_id, [record.key for record in chunk.items])
        return import_id

    head = (
        b'{"collectionName":'
        + encode_json(collection_name)
        + b',"collectionScope":'
        + encode_json(scope)
        + b',"collectionType":'
        + encode_json(collection_type)
        + b',"records":['
    )
    import_in_chunks(
        client,
        encoded_records(),
        head=head,
        on_oversized=lambda record, size: reject(
            record, "TooLarge", f"the record is {size} bytes, over the {max_chunk_bytes}-byte request limit"
        ),
        submit=submit,
        finished_status=lambda import_id: _finished_status(client, import_id),
        reject=reject,
        record_chunk=lambda records, import_id, status: _record_chunk(report, records, import_id, status),
        chunk_outcomes=report.chunks,
        max_bytes=max_chunk_bytes,
        max_items=max_records_per_chunk,
        max_active=max_active_imports,
        poll_interval=poll_interval,
        poll_timeout=poll_timeout,
        chunk_ended=handing_over(report, on_chunk_report),
    )
    return report


def _encoded_object(record_json: Any) -> bytes | None:
    """A record's JSON object as the bytes to send, or None if it is not an object.

    JSON text goes as it is: records built by DuckDB are valid JSON already, and parsing then re-encoding
    tens of thousands of them in Python is what an Insight load used to spend its CPU on.
    """
    if isinstance(record_json, Mapping):
        return encode_json(record_json)
    if isinstance(record_json, str) and record_json.lstrip().startswith("{"):
        return record_json.encode("utf-8")
    return None


def resume_insight_import(
    client: DotmailerClient,
    collection_name: str,
    import_id: str,
    keys: Sequence[str] | None = None,
    *,
    poll_interval: float = 5.0,
    poll_timeout: float = 3600.0,
) -> InsightImportReport:
    """Finish following an Insight import dotmailer accepted earlier, without sending anything again.

    With `keys` (what the chunk held) every key gets a result; without, the report holds only the failures.
    """
    status = poll_until_finished(
        client,
        import_id,
        finished_status=lambda import_id: _finished_status(client, import_id),
        poll_interval=poll_interval,
        poll_timeout=poll_timeout,
    )
    report = InsightImportReport(collection_name)
    if keys is None and status is not None:
        keys = [str(failure.get("key")) for failure in status.get("failures") or [] if isinstance(failure, dict)]
    _record_chunk(report, [_SentRecord(str(key), None) for key in keys or []], import_id, status)
    return report


def _submit_insight_chunk(client: DotmailerClient, collection_name: str, chunk: Chunk[_SentRecord]) -> str:
    accepted = client.call(
        "PUT",
        "/insightData/v3/import",
        operation=f"import {len(chunk.items)} Insight records into {collection_name}",
        body=chunk.body,
        wait_on_rate_limit=False,
    )
    import_id = accepted.get("importId") if isinstance(accepted, dict) else None
    if not import_id:
        raise ValueError(f"dotmailer accepted an Insight import into {collection_name} without returning its importId")
    return str(import_id)


def _finished_status(client: DotmailerClient, import_id: str) -> dict[str, Any] | None:
    status = client.call("GET", f"/insightData/v3/import/{import_id}", operation=f"get Insight import {import_id}")
    if not isinstance(status, dict) or status.get("status") in _RUNNING_STATUSES:
        return None
    return status


def _record_chunk(
    report: InsightImportReport, records: list[_SentRecord], import_id: str | None, status: dict[str, Any] | None
) -> None:
    if status is None:
        report.chunks.append(ImportChunkOutcome(import_id, "NotFinished", len(records)))
        report.results.extend(
            InsightRecordResult(key=record.key, outcome="pending", email=record.email, import_id=import_id)
            for record in records
        )
        return
    final = str(status.get("status"))
    if final not in _SUCCESS_STATUSES:
        detail = f"dotmailer ended the Insight import with status {final}"
        report.chunks.append(ImportChunkOutcome(import_id, final, len(records), detail))
        report.results.extend(
            InsightRecordResult(
                key=record.key, outcome="failed", reason=final, details=(detail,), email=record.email,
                import_id=import_id,
            )
            for record in records
        )
        return
    report.chunks.append(ImportChunkOutcome(import_id, final, len(records)))
    failures: dict[str, deque[dict[str, Any]]] = defaultdict(deque)
    for failure in status.get("failures") or []:
        if isinstance(failure, dict):
            failures[str(failure.get("key"))].append(failure)
    for record in records:
        listed = failures.get(record.key)
        if not listed:
            report.results.append(
                InsightRecordResult(key=record.key, outcome="imported", email=record.email, import_id=import_id)
            )
            continue
        failure = listed.popleft()
        report.results.append(
            InsightRecordResult(
                key=record.key,
                outcome="failed",
                reason=str(failure.get("failureReason") or "Unknown"),
                details=tuple(str(detail) for detail in failure.get("details") or []),
                email=record.email or _owner_email(failure),
                import_id=import_id,
            )
        )


def _owner_email(failure: dict[str, Any]) -> str | None:
    identity = (failure.get("collectionOwner") or {}).get("contactIdentity") or {}
    return identity.get("value") if identity.get("identifier") == "email" else None


def delete_account_record(client: DotmailerClient, collection_name: str, key: str) -> bool:
    """Delete one record of an account-scoped collection; False when it was not there (already deleted)."""
    return _delete_if_present(
        client,
        f"/insightData/v3/account/{_segment(collection_name)}/{_segment(key)}",
        f"delete Insight record {key} from {collection_name}",
    )


def delete_contact_record(client: DotmailerClient, collection_name: str, email: str, key: str) -> bool:
    """Delete one record of a contact-scoped collection; False when it was not there (already deleted)."""
    return _delete_if_present(
        client,
        f"/insightData/v3/contacts/email/{_segment(email)}/{_segment(collection_name)}/{_segment(key)}",
        f"delete a contact's Insight record {key} from {collection_name}",
    )


def delete_account_records(client: DotmailerClient, collection_name: str, keys: Iterable[str]) -> DeleteSummary:
    """Delete many records of an account-scoped collection, 5,000 keys per call."""
    return _delete_many(
        client,
        f"/insightData/v3/accounts/{_segment(collection_name)}/deleteRecords",
        collection_name,
        [str(key) for key in keys],
    )


def delete_contact_records(
    client: DotmailerClient, collection_name: str, email: str, keys: Iterable[str]
) -> DeleteSummary:
    """Delete many of one contact's records in a contact-scoped collection, 5,000 keys per call."""
    return _delete_many(
        client,
        f"/insightData/v3/contacts/email/{_segment(email)}/{_segment(collection_name)}/deleteRecords",
        collection_name,
        [str(key) for key in keys],
    )


def _delete_if_present(client: DotmailerClient, path: str, operation: str) -> bool:
    try:
        client.call("DELETE", path, operation=operation)
    except DotmailerApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def _delete_many(client: DotmailerClient, path: str, collection_name: str, keys: list[str]) -> DeleteSummary:
    deleted = 0
    not_found: list[str] = []
    for start in range(0, len(keys), MAX_KEYS_PER_DELETE):
        batch = keys[start : start + MAX_KEYS_PER_DELETE]
        try:
            payload = client.call(
                "DELETE",
                path,
                operation=f"delete {len(batch)} Insight records from {collection_name}",
                json_body={"keys": batch},
            )
        except DotmailerApiError as exc:
            # A collection or contact that does not exist holds none of the records: they are gone already.
            if exc.status == 404:
                not_found.extend(batch)
                continue
            raise
        summary = (payload or {}).get("summary") or {}
        batch_not_found = [str(key) for key in (payload or {}).get("notFound") or []]
        not_found.extend(batch_not_found)
        deleted += int(summary.get("totalDeleted", len(batch) - len(batch_not_found)))
    return DeleteSummary(deleted=deleted, not_found=not_found)


def _segment(value: str) -> str:
    return quote(str(value), safe="")
