"""Contacts dotmailer has suppressed or unsubscribed: the sync must never subscribe them again."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bc_pipeline.dotmailer.client import DotmailerClient


@dataclass(frozen=True)
class Suppression:
    email: str
    date_removed: datetime | None
    reason: str | None
    contact_id: int | None = None

    @classmethod
    def from_payload(cls, payload: Any, *, fallback_email: str = "") -> Suppression:
        payload = payload if isinstance(payload, dict) else {}
        contact = payload.get("suppressedContact") or {}
        return cls(
            email=str(contact.get("email") or fallback_email),
            date_removed=parse_timestamp(payload.get("dateRemoved")),
            reason=payload.get("reason"),
            contact_id=contact.get("id"),
        )


def parse_timestamp(value: Any) -> datetime | None:
    """dotmailer's ISO-8601 timestamps as aware UTC datetimes (naive ones are UTC by dotmailer's convention)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed.astimezone(timezone.utc)


def format_since(since: date | datetime) -> str:
    if isinstance(since, datetime):
        aware = since.replace(tzinfo=timezone.utc) if since.tzinfo is None else since.astimezone(timezone.utc)
        return aware.strftime("%Y-%m-%dT%H:%M:%SZ")
    return since.isoformat()


def iterate_suppressed_since(
    client: DotmailerClient, since: date | datetime, *, page_size: int = 1000
) -> Iterator[Suppression]:
    """Every contact suppressed (unsubscribed, bounced, complained, …) since `since`, page by page."""
    for item in client.iterate_pages(
        f"/v2/contacts/suppressed-since/{format_since(since)}",
        operation="list contacts suppressed since " + format_since(since),
        page_size=page_size,
    ):
        yield Suppression.from_payload(item)


def suppressed_since(client: DotmailerClient, since: date | datetime, *, page_size: int = 1000) -> list[Suppression]:
    return list(iterate_suppressed_since(client, since, page_size=page_size))
