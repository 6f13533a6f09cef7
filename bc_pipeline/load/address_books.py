"""Load `dotmailer.outbound_contacts` into a dotmailer address book: only what changed, nothing lost.

A contact is marked sent (its hash recorded in `dotmailer.book_members`) only after dotmailer reports
the import finished. Each accepted import is written to the ledger before it is polled, so a run that
dies mid-import resumes it next time instead of sending it again. Contacts that left the book's
outbound set (consent withdrawn, customer deleted) are removed from the book.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import duckdb

from bc_pipeline.dotmailer.address_books import remove_contacts_from_book
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.contacts import ContactImportReport, import_contacts, resume_contact_import
from bc_pipeline.ledger import ACCEPTED_IMPORTS_KEPT
from bc_pipeline.load.key_ranges import in_range, key_ranges
from bc_pipeline.transform.contacts import SUBSCRIBERS_BOOK
from bc_pipeline.warehouse import LoadTooLarge, lists_as_table, transaction, within_memory_limit

# Failures that sending the same data again cannot fix; they wait for the contact to change.
PERMANENT_FAILURES = ("InvalidEmail", "GloballySuppressed", "SuppressedByDomain", "missingEmail", "tooLarge")

READ_BATCH = 5_000


@dataclass
class BookLoadResult:
    book: str
    book_id: int | None = None
    sent: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    pending: int = 0
    removed: int = 0
    resumed_imports: int = 0
    import_ids: list[str] = field(default_factory=list)
    failure_reasons: dict[str, int] = field(default_factory=dict)


def load_address_book(
    conn: duckdb.DuckDBPyConnection,
    client: DotmailerClient,
    book: str,
    prepare_book: Callable[[], int],
    *,
    poll_interval: float = 5.0,
    max_chunk_bytes: int | None = None,
) -> BookLoadResult:
    """Send what changed to the book and remove who left it.

    `prepare_book` returns the book's id after readying the account (book and data fields); it is called
    only when there is something to send or remove, so a sync with no change makes no dotmailer call.
    """
    result = BookLoadResult(book=book)
    with within_memory_limit(conn, f"loading the {book} address book", ACCEPTED_IMPORTS_KEPT, LoadTooLarge):
        _resume_open_imports(conn, client, book, result, poll_interval)
        result.sent = _stage_pending(conn, book)
        departed = _departed(conn, book)
        if not result.sent and not departed:
            return result
        book_id = result.book_id = prepare_book()
        if _switch_book(conn, book, book_id):
            # What the ledger says the book holds went to another book (deleted in dotmailer, or renamed in
            # connector.yaml): this one starts empty, so everyone is sent to it and nobody has left it.
            result.sent = _stage_pending(conn, book)
            departed = []
        if result.sent:
            options = {"max_chunk_bytes": max_chunk_bytes} if max_chunk_bytes else {}
            # Outcomes are recorded chunk by chunk: a first load holds one chunk's results, not the store's.
            import_contacts(
                client,
                _pending_contacts(conn, book, book_id),
                poll_interval=poll_interval,
                on_accepted=lambda import_id, emails: _record_accepted(conn, book, import_id, emails),
                on_chunk_report=lambda report: _apply_report(conn, book, report, result),
                **options,
            )
        result.removed = _remove_departed(conn, client, book, book_id, departed, poll_interval)
    return result


def has_contacts_to_send(conn: duckdb.DuckDBPyConnection, book: str) -> bool:
    """Whether loading the book would send anyone to dotmailer or remove anyone from it."""
    return bool(_stage_pending(conn, book) or _departed(conn, book))


def _resume_open_imports(conn, client, book: str, result: BookLoadResult, poll_interval: float) -> None:
    open_imports = conn.execute(
        "SELECT import_id FROM dotmailer.contact_imports WHERE book = ? AND finished_at IS NULL ORDER BY accepted_at",
        [book],
    ).fetchall()
    for (import_id,) in open_imports:
        emails = [
            row[0]
            for row in conn.execute(
                "SELECT email FROM dotmailer.contact_import_rows WHERE import_id = ?", [import_id]
            ).fetchall()
        ]
        report = resume_contact_import(client, import_id, emails, poll_interval=poll_interval)
        _apply_report(conn, book, report, result)
        result.resumed_imports += 1


def _switch_book(conn: duckdb.DuckDBPyConnection, book: str, book_id: int) -> bool:
    """Remember the book's dotmailer id; when it differs from the one remembered, forget the book's members."""
    conn.execute("CREATE TABLE IF NOT EXISTS dotmailer.book_ids (book VARCHAR PRIMARY KEY, book_id BIGINT)")
    [(known,)] = conn.execute("SELECT any_value(book_id) FROM dotmailer.book_ids WHERE book = ?", [book]).fetchall()
    if known == book_id:
        return False
    # One transaction: the new id is never remembered while the old book's members still count as sent.
    with transaction(conn):
        if known is not None:
            conn.execute("DELETE FROM dotmailer.book_members WHERE book = ?", [book])
        conn.execute("INSERT OR REPLACE INTO dotmailer.book_ids VALUES (?, ?)", [book, book_id])
    return known is not None


def _stage_pending(conn: duckdb.DuckDBPyConnection, book: str) -> int:
    """Outbound rows whose hash differs from what the book last accepted, minus hopeless retries; how many."""
    # In the file, not a temp table, which DuckDB would hold in memory.
    conn.execute(
        """CREATE TABLE IF NOT EXISTS dotmailer.pending_contacts (
               book VARCHAR, email_key VARCHAR, email VARCHAR, data_fields VARCHAR, hash VARCHAR)"""
    )
    conn.execute("DELETE FROM dotmailer.pending_contacts WHERE book = ?", [book])
    conn.execute(
        """
        INSERT INTO dotmailer.pending_contacts
        SELECT o.book, o.email_key, o.email, o.data_fields::VARCHAR AS data_fields, o.hash
        FROM dotmailer.outbound_contacts o
        LEFT JOIN dotmailer.book_members m ON m.book = o.book AND m.email_key = o.email_key
        LEFT JOIN dotmailer.load_failures f ON f.book = o.book AND f.email_key = o.email_key
        WHERE o.book = ? AND m.sent_hash IS DISTINCT FROM o.hash
          AND NOT (f.hash IS NOT DISTINCT FROM o.hash AND list_contains(?, f.failure_code))
        """,
        [book, list(PERMANENT_FAILURES)],
    )
    [(pending,)] = conn.execute("SELECT count(*) FROM dotmailer.pending_contacts WHERE book = ?", [book]).fetchall()
    return pending


def _pending_contacts(conn: duckdb.DuckDBPyConnection, book: str, book_id: int) -> Iterator[dict]:
    subscribed = {"status": "subscribed", "opt_in_type": "single"} if book == SUBSCRIBERS_BOOK else {}
    for params in key_ranges(conn, "dotmailer.pending_contacts", "email_key", "book = $book", {"book": book},
                             READ_BATCH):
        batch = conn.execute(
            f"""SELECT email, data_fields FROM dotmailer.pending_contacts WHERE book = $book AND {in_range("email_key")}
                ORDER BY email_key""",
            params,
        ).fetchall()
        for email, data_fields in batch:
            yield {"email": email, "data_fields": json.loads(data_fields), "lists": [book_id], **subscribed}


def _record_accepted(conn: duckdb.DuckDBPyConnection, book: str, import_id: str, emails: list[str]) -> None:
    with transaction(conn):
        conn.execute(
            "INSERT INTO dotmailer.contact_imports VALUES (?, ?, now(), NULL, 'accepted', ?)",
            [import_id, book, len(emails)],
        )
        conn.execute(
            """INSERT INTO dotmailer.contact_import_rows
               SELECT import_id, book, email_key, email, hash FROM (SELECT ? AS import_id, * FROM dotmailer.pending_contacts)
               WHERE book = ? AND email IN (SELECT unnest(?::VARCHAR[]))""",
            [import_id, book, emails],
        )


def _apply_report(conn: duckdb.DuckDBPyConnection, book: str, report: ContactImportReport, result: BookLoadResult):
    if not report.results:
        return
    outcomes = {
        "email": ("VARCHAR", [r.email for r in report.results]),
        "outcome": ("VARCHAR", [r.outcome for r in report.results]),
        "contact_id": ("BIGINT", [r.contact_id for r in report.results]),
        "failure_code": ("VARCHAR", [r.failure_code for r in report.results]),
        "reason": ("VARCHAR", [r.reason for r in report.results]),
        "import_id": ("VARCHAR", [r.import_id for r in report.results]),
    }
    with lists_as_table(conn, "import_report", outcomes), transaction(conn):
        # The hash sent is the one recorded when dotmailer accepted the import, not today's.
        conn.execute(
            """CREATE OR REPLACE TEMP TABLE import_outcomes AS
               SELECT lower(trim(o.email)) AS email_key, o.*, r.hash
               FROM import_report o
               LEFT JOIN dotmailer.contact_import_rows r ON r.import_id = o.import_id AND r.email = o.email""",
        )
        conn.execute(
            """INSERT OR REPLACE INTO dotmailer.book_members
               SELECT ?, email_key, email, contact_id, hash, now(), import_id
               FROM import_outcomes WHERE outcome IN ('created', 'updated')""",
            [book],
        )
        conn.execute(
            """INSERT OR IGNORE INTO dotmailer.contact_ids
               SELECT email_key, contact_id, now() FROM import_outcomes
               WHERE outcome IN ('created', 'updated') AND contact_id IS NOT NULL""",
        )
        conn.execute(
            """DELETE FROM dotmailer.load_failures WHERE book = ?
               AND email_key IN (SELECT email_key FROM import_outcomes WHERE outcome IN ('created', 'updated'))""",
            [book],
        )
        conn.execute(
            """INSERT OR REPLACE INTO dotmailer.load_failures
               SELECT ?, email_key, email, hash, failure_code, reason, import_id, now()
               FROM import_outcomes WHERE outcome = 'failed'""",
            [book],
        )
        conn.execute(
            """UPDATE dotmailer.contact_imports SET finished_at = now(), status = 'finished'
               WHERE import_id IN (SELECT import_id FROM import_outcomes WHERE outcome <> 'pending')""",
        )
        # What a finished import sent is now in book_members and load_failures; its rows were kept to resume it.
        conn.execute(
            """DELETE FROM dotmailer.contact_import_rows
               WHERE import_id IN (SELECT import_id FROM import_outcomes WHERE outcome <> 'pending')""",
        )
    result.import_ids.extend(sorted({r.import_id for r in report.results if r.import_id}))
    result.created += len(report.with_outcome("created"))
    result.updated += len(report.with_outcome("updated"))
    result.pending += len(report.pending)
    for failure in report.failed:
        result.failed += 1
        code = failure.failure_code or "unknown"
        result.failure_reasons[code] = result.failure_reasons.get(code, 0) + 1


def _departed(conn: duckdb.DuckDBPyConnection, book: str) -> list[tuple[str, int | None]]:
    """Members the book holds that are no longer in its outbound set, with their dotmailer contact ids."""
    return conn.execute(
        """SELECT m.email_key, coalesce(m.contact_id, i.contact_id) AS contact_id
           FROM dotmailer.book_members m
           LEFT JOIN dotmailer.contact_ids i USING (email_key)
           WHERE m.book = ? AND NOT EXISTS (
               SELECT 1 FROM dotmailer.outbound_contacts o WHERE o.book = m.book AND o.email_key = m.email_key)""",
        [book],
    ).fetchall()


def _remove_departed(conn, client: DotmailerClient, book: str, book_id: int, departed: list[tuple[str, int | None]],
                     poll_interval: float) -> int:
    if not departed:
        return 0
    removable = [contact_id for _, contact_id in departed if contact_id is not None]
    if removable:
        remove_contacts_from_book(client, book_id, removable, poll_interval=poll_interval)
    conn.execute(
        "DELETE FROM dotmailer.book_members WHERE book = ? AND email_key IN (SELECT unnest(?::VARCHAR[]))",
        [book, [email_key for email_key, _ in departed]],
    )
    return len(departed)
