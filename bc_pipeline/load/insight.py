"""Load an outbound Insight table (`dotmailer.outbound_orders`, `dotmailer.outbound_catalog`) into its collection.

Only records whose hash differs from what dotmailer last accepted travel. A record is marked sent only after
dotmailer reports its import finished; each accepted import is written to the ledger before it is polled, so a
run that dies mid-import resumes it next time instead of sending it again. Records that left the outbound table
(archived orders, hidden or deleted products) are deleted from the collection.

Insight data is an account feature that may be off: the load then stops, keeps everything for later and says so
in its result instead of raising, because the contact sync must carry on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.errors import DotmailerApiError, DotmailerAuthError, InsightNotEnabled
from bc_pipeline.dotmailer.insight import (
    InsightImportReport,
    delete_account_records,
    delete_contact_records,
    import_insight,
    records_per_chunk,
    resume_insight_import,
)
from bc_pipeline.ledger import ACCEPTED_IMPORTS_KEPT, ensure_ledger
from bc_pipeline.load.insight_ledger import ensure_insight_ledger
from bc_pipeline.load.key_ranges import in_range, key_ranges
from bc_pipeline.warehouse import (
    LoadTooLarge,
    lists_as_table,
    release_cached_blocks,
    transaction,
    within_memory_limit,
)

CONTACT_MISSING = "ContactEmailDoesNotExist"

# Failures that sending the same record again cannot fix; they wait for the record to change.
PERMANENT_FAILURES = (
    "JsonValueIncompatibleWithSchema", "JsonValueTooLong", "JsonKeyTooLong", "JsonContainsNestedArray", "TooLarge",
    "InvalidJson", "InvalidContactIdentifier",
)

# A contact the connector never imported may still be created in dotmailer by someone else; look again daily.
RETRY_MISSING_CONTACT_AFTER = "1 day"

READ_BATCH = 5_000


@dataclass(frozen=True)
class InsightCollection:
    """A dotmailer Insight collection and the outbound table (key, [email,] json, hash) that feeds it."""

    name: str
    scope: str
    collection_type: str
    outbound_table: str

    @property
    def contact_scoped(self) -> bool:
        return self.scope == "contact"

    @property
    def owner_email(self) -> str:
        """The SQL for a record's owning contact, read from the outbound table as `o`."""
        return "o.email" if self.contact_scoped else "NULL::VARCHAR"


ORDERS_COLLECTION = InsightCollection("Orders", "contact", "orders", "dotmailer.outbound_orders")
CATALOG_COLLECTION = InsightCollection("Catalog_Default", "account", "catalog", "dotmailer.outbound_catalog")


@dataclass
class InsightLoadResult:
    collection: str
    insight_enabled: bool = True
    disabled_reason: str | None = None
    sent: int = 0
    imported: int = 0
    failed: int = 0
    pending: int = 0
    deleted: int = 0
    resumed_imports: int = 0
    import_ids: list[str] = field(default_factory=list)
    failure_reasons: dict[str, int] = field(default_factory=dict)

    def count_failure(self, reason: str) -> None:
        self.failure_reasons[reason] = self.failure_reasons.get(reason, 0) + 1


def load_insight(
    conn: duckdb.DuckDBPyConnection,
    client: DotmailerClient,
    collection: InsightCollection,
    *,
    poll_interval: float = 5.0,
    poll_timeout: float = 3600.0,
    max_chunk_bytes: int | None = None,
) -> InsightLoadResult:
    ensure_ledger(conn)
    ensure_insight_ledger(conn)
    result = InsightLoadResult(collection=collection.name)
    with within_memory_limit(conn, f"loading the {collection.name} Insight collection", ACCEPTED_IMPORTS_KEPT,
                             LoadTooLarge):
        try:
            _resume_open_imports(conn, client, collection, result, poll_interval, poll_timeout)
            _delete_departed(conn, client, collection, result)
            pending = _stage_pending(conn, collection)
            if pending:
                options = {"max_chunk_bytes": max_chunk_bytes} if max_chunk_bytes else {}
                # Outcomes are recorded chunk by chunk: a first load holds one chunk's results, not the store's.
                import_insight(
                    client,
                    collection.name,
                    _pending_records(conn, collection),
                    scope=collection.scope,
                    collection_type=collection.collection_type,
                    max_records_per_chunk=records_per_chunk(pending),
                    poll_interval=poll_interval,
                    poll_timeout=poll_timeout,
                    on_accepted=lambda import_id, keys: _record_accepted(conn, collection, import_id, keys, result),
                    on_chunk_report=lambda report: _apply_report(conn, collection, report, result),
                    **options,
                )
        except InsightNotEnabled as disabled:
            # Imports accepted before the refusal stay open in the ledger and are resumed once Insight is on.
            result.insight_enabled = False
            result.disabled_reason = disabled.code or "feature not active"
    return result


def _resume_open_imports(conn, client, collection: InsightCollection, result: InsightLoadResult,
                         poll_interval: float, poll_timeout: float) -> None:
    open_imports = conn.execute(
        """SELECT i.import_id, list(r.key ORDER BY r.key) FROM dotmailer.insight_imports i
           JOIN dotmailer.insight_import_rows r USING (import_id)
           WHERE i.collection = ? AND i.finished_at IS NULL
           GROUP BY i.import_id, i.accepted_at ORDER BY i.accepted_at""",
        [collection.name],
    ).fetchall()
    for import_id, keys in open_imports:
        try:
            report = resume_insight_import(
                client, collection.name, import_id, keys, poll_interval=poll_interval, poll_timeout=poll_timeout
            )
        except DotmailerApiError as lost:
            if lost.status != 404:
                raise
            # dotmailer no longer knows the import; its records were never confirmed, so they are sent again.
            _finish_import(conn, import_id, "NotFound")
            continue
        _apply_report(conn, collection, report, result)
        result.resumed_imports += 1


def _finish_import(conn, import_id: str, status: str) -> None:
    """Mark the import ended. What it sent is in insight_records or insight_failures by now, so the rows kept to resume
    it go with it."""
    with transaction(conn):
        conn.execute(
            "UPDATE dotmailer.insight_imports SET finished_at = now(), status = ? WHERE import_id = ?", [status, import_id]
        )
        conn.execute("DELETE FROM dotmailer.insight_import_rows WHERE import_id = ?", [import_id])


def _delete_departed(conn, client: DotmailerClient, collection: InsightCollection, result: InsightLoadResult) -> None:
    """Delete records the outbound table no longer holds, or that now belong to another contact."""
    same_owner = "AND lower(o.email) = lower(r.contact_email)" if collection.contact_scoped else ""
    departed = conn.execute(
        f"""SELECT r.contact_email, list(r.key ORDER BY r.key) FROM dotmailer.insight_records r
            WHERE r.collection = ? AND NOT EXISTS (
                SELECT 1 FROM {collection.outbound_table} o WHERE o.key = r.key {same_owner})
            GROUP BY r.contact_email ORDER BY r.contact_email""",
        [collection.name],
    ).fetchall()
    for contact_email, keys in departed:
        try:
            if collection.contact_scoped:
                delete_contact_records(client, collection.name, contact_email, keys)
            else:
                delete_account_records(client, collection.name, keys)
        except (InsightNotEnabled, DotmailerAuthError):
            raise
        except DotmailerApiError as refusal:
            if not (refusal.code or "").endswith("invalidId"):
                # Kept in the ledger, so the next sync tries again.
                result.count_failure(f"delete refused: {refusal.code or refusal.status}")
                continue
            # dotmailer knows no such contact any more, and its records went with it.
        conn.execute(
            "DELETE FROM dotmailer.insight_records WHERE collection = ? AND key IN (SELECT unnest(?::VARCHAR[]))",
            [collection.name, keys],
        )
        result.deleted += len(keys)
    conn.execute(
        f"""DELETE FROM dotmailer.insight_failures f WHERE f.collection = ?
            AND NOT EXISTS (SELECT 1 FROM {collection.outbound_table} o WHERE o.key = f.key)""",
        [collection.name],
    )


def _stage_pending(conn: duckdb.DuckDBPyConnection, collection: InsightCollection) -> int:
    """Outbound records whose hash differs from what dotmailer holds, minus failures not worth repeating yet."""
    email = collection.owner_email
    conn.execute("DELETE FROM dotmailer.pending_insight WHERE collection = ?", [collection.name])
    conn.execute(
        f"""
        INSERT INTO dotmailer.pending_insight
        SELECT $collection, o.key, {email}, o.hash
        FROM {collection.outbound_table} o
        LEFT JOIN dotmailer.insight_records r ON r.collection = $collection AND r.key = o.key
        LEFT JOIN dotmailer.insight_failures f ON f.collection = $collection AND f.key = o.key
        LEFT JOIN dotmailer.contact_ids c ON c.email_key = lower({email})
        WHERE r.sent_hash IS DISTINCT FROM o.hash
          AND NOT EXISTS (
              SELECT 1 FROM dotmailer.insight_import_rows x JOIN dotmailer.insight_imports i USING (import_id)
              WHERE i.collection = $collection AND i.finished_at IS NULL AND x.key = o.key)
          AND (f.key IS NULL OR f.hash IS DISTINCT FROM o.hash
               OR (f.reason = $missing AND (c.first_seen > f.failed_at
                                            OR f.failed_at < now() - INTERVAL '{RETRY_MISSING_CONTACT_AFTER}'))
               OR (f.reason <> $missing AND NOT list_contains($permanent, f.reason)))
        """,
        {"collection": collection.name, "missing": CONTACT_MISSING, "permanent": list(PERMANENT_FAILURES)},
    )
    [(pending,)] = conn.execute(
        "SELECT count(*) FROM dotmailer.pending_insight WHERE collection = ?", [collection.name]
    ).fetchall()
    return pending


def _pending_records(conn: duckdb.DuckDBPyConnection, collection: InsightCollection) -> Iterator[dict]:
    # The JSON is read from the outbound table as it goes: copied into the pending table first, it was held in DuckDB's
    # cache twice (20 MiB more at the peak of a first load of 28,000 orders).
    for params in key_ranges(conn, "dotmailer.pending_insight", "key", "collection = $collection",
                             {"collection": collection.name}, READ_BATCH):
        batch = conn.execute(
            f"""SELECT o.key, {collection.owner_email}, o.json::VARCHAR FROM {collection.outbound_table} o
                WHERE {in_range("o.key")} AND o.key IN (
                    SELECT key FROM dotmailer.pending_insight WHERE collection = $collection AND {in_range("key")})""",
            params,
        ).fetchall()
        for key, email, record_json in batch:
            yield {"key": key, "email": email, "json": record_json}


def _record_accepted(conn, collection: InsightCollection, import_id: str, keys: list[str],
                     result: InsightLoadResult) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO dotmailer.insight_imports VALUES (?, ?, now(), NULL, 'accepted', ?)",
            [import_id, collection.name, len(keys)],
        )
        conn.execute(
            """INSERT INTO dotmailer.insight_import_rows
               SELECT ?, collection, key, contact_email, hash FROM dotmailer.pending_insight
               WHERE collection = ? AND key IN (SELECT unnest(?::VARCHAR[]))""",
            [import_id, collection.name, keys],
        )
    # The chunk's records are in dotmailer's hands; the blocks they were read from are not needed again.
    release_cached_blocks(conn)
    result.sent += len(keys)


def _apply_report(conn, collection: InsightCollection, report: InsightImportReport,
                  result: InsightLoadResult) -> None:
    if report.results:
        _apply_outcomes(conn, collection, report)
    for chunk in report.chunks:
        if chunk.import_id and chunk.status != "NotFinished":
            _finish_import(conn, chunk.import_id, chunk.status)
    result.import_ids.extend(chunk.import_id for chunk in report.chunks if chunk.import_id)
    result.imported += len(report.imported)
    result.pending += len(report.pending)
    result.failed += len(report.failed)
    for failure in report.failed:
        result.count_failure(failure.reason or "Unknown")


def _apply_outcomes(conn, collection: InsightCollection, report: InsightImportReport) -> None:
    outcomes = {
        "key": ("VARCHAR", [r.key for r in report.results]),
        "outcome": ("VARCHAR", [r.outcome for r in report.results]),
        "reason": ("VARCHAR", [r.reason for r in report.results]),
        "detail": ("VARCHAR", ["; ".join(r.details) for r in report.results]),
        "import_id": ("VARCHAR", [r.import_id for r in report.results]),
    }
    with lists_as_table(conn, "insight_report", outcomes), transaction(conn):
        # The hash sent is the one recorded when dotmailer accepted the import, not today's. Only records that never
        # reached an import (rejected before sending, or in a refused request) take theirs from the pending table:
        # joining it whole would build a hash table of every pending record for each import.
        conn.execute(
            """CREATE OR REPLACE TEMP TABLE insight_outcomes AS
               SELECT o.*, coalesce(x.hash, p.hash) AS hash, coalesce(x.contact_email, p.contact_email) AS contact_email
               FROM insight_report o
               LEFT JOIN dotmailer.insight_import_rows x ON x.import_id = o.import_id AND x.key = o.key
               LEFT JOIN (SELECT key, hash, contact_email FROM dotmailer.pending_insight
                          WHERE collection = ? AND key IN (SELECT key FROM insight_report WHERE import_id IS NULL)) p
                 ON p.key = o.key""",
            [collection.name],
        )
        conn.execute(
            """INSERT OR REPLACE INTO dotmailer.insight_records
               SELECT ?, key, contact_email, hash, now(), import_id FROM insight_outcomes WHERE outcome = 'imported'""",
            [collection.name],
        )
        conn.execute(
            """DELETE FROM dotmailer.insight_failures WHERE collection = ?
               AND key IN (SELECT key FROM insight_outcomes WHERE outcome = 'imported')""",
            [collection.name],
        )
        conn.execute(
            """INSERT OR REPLACE INTO dotmailer.insight_failures
               SELECT ?, key, contact_email, reason, detail, hash, import_id, now()
               FROM insight_outcomes WHERE outcome = 'failed'""",
            [collection.name],
        )
