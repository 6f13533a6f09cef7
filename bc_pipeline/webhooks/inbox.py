"""The webhook inbox: an append-only SQLite file the receiver writes and the pipeline reads.

SQLite in WAL mode, never DuckDB: a Dagster run may hold the DuckDB file for minutes, and the receiver must
answer BigCommerce within seconds or the event is retried (and, after ~48 h of failures, the hook is disabled).
In WAL mode readers never block the writer and the writer never blocks readers, so the receiver process and a
pipeline process can use the file at the same time. Every call opens its own short-lived connection, which
makes an `Inbox` safe to share between threads and cheap to create in any process.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path

from bc_pipeline.webhooks.events import (
    CART_ABANDONED,
    CART_CONVERTED,
    CART_DELETED,
    DELETION_SCOPES,
    DeletionKind,
    InboxEvent,
    WebhookEvent,
)

# AUTOINCREMENT: a seq is never reused, so a reader's cursor stays valid whatever happens to older rows.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    hash        TEXT    NOT NULL UNIQUE,
    scope       TEXT    NOT NULL,
    data_type   TEXT,
    data_id     TEXT,
    data_token  TEXT,
    created_at  INTEGER,
    received_at TEXT    NOT NULL,
    raw_json    TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_events_by_scope ON webhook_events (scope, data_id);
"""

_EVENT_COLUMNS = "seq, scope, hash, data_type, data_id, data_token, created_at, received_at, raw_json"

_INSERT_EVENT = """
INSERT INTO webhook_events (hash, scope, data_type, data_id, data_token, created_at, received_at, raw_json)
VALUES (:hash, :scope, :data_type, :data_id, :data_token, :created_at, :received_at, :raw_json)
ON CONFLICT (hash) DO NOTHING
"""

_EVENTS_AFTER = f"""
SELECT {_EVENT_COLUMNS}
FROM webhook_events
WHERE seq > :after_seq
  AND (:scopes IS NULL OR scope IN (SELECT value FROM json_each(:scopes)))
ORDER BY seq
LIMIT :limit
"""

_DELETED_IDS = """
SELECT DISTINCT CAST(data_id AS INTEGER) AS id
FROM webhook_events
WHERE scope = :scope
  AND seq > :after_seq
  AND (:through_seq IS NULL OR seq <= :through_seq)
ORDER BY id
"""

# A converted or deleted cart no longer exists in BigCommerce, so either ends the cart whatever order the
# events arrive in: BigCommerce retries failed deliveries for up to 48 h, so an abandonment can reach us after
# the conversion that followed it. Event time is BigCommerce's `created_at`, or our receipt time without one.
_ABANDONED_CARTS = """
WITH abandonments AS (
    SELECT
        data_id AS cart_id,
        data_token AS token,
        COALESCE(created_at, unixepoch(received_at)) AS abandoned_at,
        seq,
        ROW_NUMBER() OVER (
            PARTITION BY data_id
            ORDER BY COALESCE(created_at, unixepoch(received_at)) DESC, seq DESC
        ) AS recency
    FROM webhook_events
    WHERE scope = :abandoned_scope
)
SELECT cart_id, token, abandoned_at, seq
FROM abandonments
WHERE recency = 1
  AND abandoned_at < :older_than
  AND NOT EXISTS (
      SELECT 1
      FROM webhook_events AS ended
      WHERE ended.scope IN (:converted_scope, :deleted_scope)
        AND ended.data_id = abandonments.cart_id
  )
ORDER BY abandoned_at, cart_id
"""


@dataclass(frozen=True)
class AbandonedCart:
    cart_id: str
    token: str | None
    abandoned_at: datetime
    seq: int


class Inbox:
    """Append-only store of BigCommerce webhook events, de-duplicated by the payload `hash`.

    `seq` increases in commit order (SQLite admits one writer at a time and assigns the seq inside the
    writing transaction), so a reader that remembers the last seq it processed never misses a later event.
    """

    def __init__(self, path: str | PathLike[str], busy_timeout_ms: int = 10_000):
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            journal_mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if journal_mode.lower() != "wal":
                raise RuntimeError(f"webhook inbox {self.path} cannot use WAL journal mode (got {journal_mode})")
            conn.executescript(_SCHEMA)

    def append(self, event: WebhookEvent) -> bool:
        """Store `event`; False when an event with the same hash is already stored."""
        row = {
            "hash": event.hash,
            "scope": event.scope,
            "data_type": event.data_type,
            "data_id": event.data_id,
            "data_token": event.data_token,
            "created_at": int(event.created_at.timestamp()) if event.created_at is not None else None,
            "received_at": _to_iso(_require_aware(event.received_at, "received_at")),
            "raw_json": event.raw_json,
        }
        with self._connect() as conn:
            return conn.execute(_INSERT_EVENT, row).rowcount == 1

    def events_after(self, seq: int, scopes: list[str] | None = None, limit: int = 10_000) -> list[InboxEvent]:
        """Events with a seq greater than `seq`, oldest first; only those in `scopes` when given."""
        params = {
            "after_seq": seq,
            "scopes": json.dumps(scopes) if scopes is not None else None,
            "limit": limit,
        }
        with self._connect() as conn:
            return [_inbox_event(row) for row in conn.execute(_EVENTS_AFTER, params)]

    def max_seq(self) -> int:
        """The seq of the newest event, 0 for an empty inbox."""
        with self._connect() as conn:
            return conn.execute("SELECT COALESCE(MAX(seq), 0) FROM webhook_events").fetchone()[0]

    def deleted_ids(self, kind: DeletionKind, after_seq: int = 0, through_seq: int | None = None) -> list[int]:
        """Ids of customers, subscribers or products deleted, or orders archived, in (after_seq, through_seq].

        Read `max_seq()` first and pass it as `through_seq`, then store it as the cursor with the tombstones:
        events arriving meanwhile are left for the next read instead of being skipped.
        """
        if kind not in DELETION_SCOPES:
            raise ValueError(f"unknown deletion kind {kind!r}; expected one of {', '.join(DELETION_SCOPES)}")
        params = {"scope": DELETION_SCOPES[kind], "after_seq": after_seq, "through_seq": through_seq}
        with self._connect() as conn:
            return [row[0] for row in conn.execute(_DELETED_IDS, params)]

    def abandoned_carts(self, older_than: datetime) -> list[AbandonedCart]:
        """Carts abandoned before `older_than` (latest abandonment) that were neither converted nor deleted."""
        params = {
            "abandoned_scope": CART_ABANDONED,
            "converted_scope": CART_CONVERTED,
            "deleted_scope": CART_DELETED,
            "older_than": _require_aware(older_than, "older_than").timestamp(),
        }
        with self._connect() as conn:
            return [
                AbandonedCart(
                    cart_id=cart_id,
                    token=token,
                    abandoned_at=datetime.fromtimestamp(abandoned_at, tz=timezone.utc),
                    seq=seq,
                )
                for cart_id, token, abandoned_at, seq in conn.execute(_ABANDONED_CARTS, params)
            ]

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # Autocommit: every statement here is its own transaction, so no connection holds a lock between calls.
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            # A 200 tells BigCommerce never to resend, so the event must be on disk before we answer.
            conn.execute("PRAGMA synchronous = FULL")
            yield conn
        finally:
            conn.close()


def _inbox_event(row: tuple) -> InboxEvent:
    seq, scope, event_hash, data_type, data_id, data_token, created_at, received_at, raw_json = row
    return InboxEvent(
        seq=seq,
        scope=scope,
        hash=event_hash,
        data_type=data_type,
        data_id=data_id,
        data_token=data_token,
        created_at=datetime.fromtimestamp(created_at, tz=timezone.utc) if created_at is not None else None,
        received_at=datetime.fromisoformat(received_at),
        raw_json=raw_json,
    )


def _require_aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got a naive datetime")
    return moment


def _to_iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
