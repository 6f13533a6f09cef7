"""What the contacts and Insight bulk imports share: JSON bodies cut under a byte limit, and a window of
imports kept running at dotmailer's concurrency limit while their status is polled."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

import orjson

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.errors import DotmailerApiError, DotmailerAuthError, InsightNotEnabled, RateLimited

# dotmailer accepts 50 MB per request; the margin absorbs headers and any re-encoding on the way.
DEFAULT_MAX_CHUNK_BYTES = 45 * 1024 * 1024

Item = TypeVar("Item")
Report = TypeVar("Report")


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, the exact bytes later sent, so a chunk's size is known before it goes.

    Every contact and Insight record is encoded on its own, and orjson does it for a tenth of the standard library's
    CPU (0.6 s of a first sync at the benchmark's default store). The JSON is the same but for a float's exponent
    (1.5e-7, not 1.5e-07) and a float that is not a number, which goes as null, the one way JSON can carry it.
    """
    try:
        return orjson.dumps(value, default=_json_default)
    except orjson.JSONEncodeError:
        # What orjson refuses and JSON allows (integers beyond 64 bits, keys that are not strings) the standard
        # library encodes, and it names what cannot be sent at all.
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot send a {type(value).__name__} to dotmailer as JSON")


@dataclass(frozen=True)
class Chunk(Generic[Item]):
    items: list[Item]
    body: bytes


@dataclass(frozen=True)
class ImportChunkOutcome:
    """How one import request ended: dotmailer's final status, or why it never ran.

    `status` is dotmailer's status (Finished, Complete, RejectedByWatchdog, Failed, ExceedsAllowedContactLimit …),
    `NotFinished` when polling stopped before dotmailer did (resume with the import id), or `Refused` when
    dotmailer turned the request down (see `detail`).
    """

    import_id: str | None
    status: str
    item_count: int
    detail: str | None = None


def build_chunks(
    encoded_items: Iterable[tuple[Item, bytes]],
    *,
    head: bytes,
    tail: bytes,
    max_bytes: int,
    max_items: int,
    on_oversized: Callable[[Item, int], None],
) -> Iterator[Chunk[Item]]:
    """Group items into bodies `head + item,item,… + tail` that never exceed `max_bytes` or `max_items`.

    An item too big to travel even alone goes to `on_oversized` instead of a chunk.
    """
    envelope = len(head) + len(tail)
    items: list[Item] = []
    parts: list[bytes] = [head]
    size = envelope
    for item, encoded in encoded_items:
        if envelope + len(encoded) > max_bytes:
            on_oversized(item, envelope + len(encoded))
            continue
        separator = 1 if items else 0
        if items and (size + separator + len(encoded) > max_bytes or len(items) >= max_items):
            yield _sealed(items, parts, head, tail)
            items, size, separator = [], envelope, 0
        if separator:
            parts.append(b",")
        items.append(item)
        parts.append(encoded)
        size += separator + len(encoded)
    if items:
        yield _sealed(items, parts, head, tail)


def _sealed(items: list[Item], parts: list[bytes], head: bytes, tail: bytes) -> Chunk[Item]:
    """The chunk of `items`, its body joined from `parts` in one copy; `parts` is left holding `head` alone.

    A body is megabytes (12 MB for 10,000 orders). Joined as `head + b",".join(parts) + tail` it was copied three
    times, and the parts stayed referenced from the paused generator while the chunk was sent.
    """
    parts.append(tail)
    chunk = Chunk(items, b"".join(parts))
    parts[:] = [head]
    return chunk


FIRST_POLL_SECONDS = 0.25
# Imports whose waits end within this of each other are polled in the same round.
POLL_TOLERANCE = 1e-6


def poll_waits(poll_interval: float) -> Iterator[float]:
    """Waits between status polls: short at first, since a small import finishes in a moment, then
    doubling up to `poll_interval` so a long import is not polled more than dotmailer advises."""
    wait = min(FIRST_POLL_SECONDS, poll_interval)
    while True:
        yield wait
        wait = min(wait * 2, poll_interval)


@dataclass
class _ActiveImport(Generic[Item]):
    # Only the items: the request body is no longer needed once sent, and up to 25 imports may be running.
    items: list[Item]
    import_id: str
    deadline: float
    # Each import keeps its own schedule, so one submitted late is first looked at as soon as the first was.
    waits: Iterator[float]
    until_poll: float


def run_import_window(
    client: DotmailerClient,
    chunks: Iterable[Chunk[Item]],
    *,
    submit: Callable[[Chunk[Item]], str],
    finished_status: Callable[[str], dict[str, Any] | None],
    max_active: int,
    poll_interval: float,
    poll_timeout: float,
) -> Iterator[tuple[list[Item], str | None, dict[str, Any] | None, DotmailerApiError | None]]:
    """Submit chunks keeping at most `max_active` imports running; yield each as it ends.

    `submit` must raise RateLimited on HTTP 429 (call with `wait_on_rate_limit=False`): the chunk then waits
    for one of the running imports to end.

    Yields `(items, import_id, final_status, refusal)`: `final_status` is None when the import was still running
    at `poll_timeout`; `refusal` is set (and `import_id` None) when dotmailer refused that one request, which
    must not stop the others. Credentials or a disabled feature refuse every chunk alike, so those propagate.
    """
    if max_active < 1:
        raise ValueError("at least one import must be allowed to run")
    pending = iter(chunks)
    held: Chunk[Item] | None = None
    active: list[_ActiveImport[Item]] = []
    exhausted = False
    busy_waits = 0
    while True:
        while not exhausted and len(active) < max_active:
            chunk = held if held is not None else next(pending, None)
            held = None
            if chunk is None:
                exhausted = True
                break
            try:
                import_id = submit(chunk)
            except RateLimited as busy:
                # dotmailer is full (its active-import limit is shared with any other integration):
                # keep the chunk and let running imports finish rather than hammer it.
                held = chunk
                if not active:
                    busy_waits += 1
                    client.pause_after_rate_limit(busy.operation, busy.reset_seconds, busy_waits)
                break
            except (DotmailerAuthError, InsightNotEnabled):
                raise
            except DotmailerApiError as refusal:
                yield chunk.items, None, None, refusal
                continue
            busy_waits = 0
            waits = poll_waits(poll_interval)
            active.append(_ActiveImport(chunk.items, import_id, client.monotonic() + poll_timeout, waits, next(waits)))
            # Sent: its body is not kept while the running imports are polled and their outcomes recorded.
            chunk = None
        if not active:
            if held is None:
                return
            continue
        # Time is counted in the waits slept, not read from the clock, so an injected sleep stays exact.
        step = min(entry.until_poll for entry in active)
        client.sleep(step)
        still_running: list[_ActiveImport[Item]] = []
        for entry in active:
            entry.until_poll -= step
            if entry.until_poll > POLL_TOLERANCE:
                still_running.append(entry)
                continue
            status = finished_status(entry.import_id)
            if status is not None:
                yield entry.items, entry.import_id, status, None
            elif client.monotonic() >= entry.deadline:
                yield entry.items, entry.import_id, None, None
            else:
                entry.until_poll = next(entry.waits)
                still_running.append(entry)
        active = still_running


def poll_until_finished(
    client: DotmailerClient,
    import_id: str,
    *,
    finished_status: Callable[[str], dict[str, Any] | None],
    poll_interval: float,
    poll_timeout: float,
) -> dict[str, Any] | None:
    """The final status of an import accepted earlier, or None if it is still running at `poll_timeout`."""
    deadline = client.monotonic() + poll_timeout
    waits = poll_waits(poll_interval)
    while True:
        status = finished_status(import_id)
        if status is not None:
            return status
        if client.monotonic() >= deadline:
            return None
        client.sleep(next(waits))


def handing_over(report: Report, on_report: Callable[[Report], None] | None) -> Callable[[], None] | None:
    """A `chunk_ended` for `import_in_chunks`: what `report` (a dataclass with `results` and `chunks` lists) holds
    so far goes to `on_report` as a report of its own, and `report` is emptied. None without `on_report`.

    A caller that records outcomes as chunks end then holds one chunk's results at a time, not a whole load's:
    a large store's first load has hundreds of thousands.
    """
    if on_report is None:
        return None

    def hand_over() -> None:
        if report.results or report.chunks:
            on_report(replace(report, results=list(report.results), chunks=list(report.chunks)))
            report.results.clear()
            report.chunks.clear()

    return hand_over


def import_in_chunks(
    client: DotmailerClient,
    encoded_items: Iterable[tuple[Item, bytes]],
    *,
    head: bytes,
    on_oversized: Callable[[Item, int], None],
    submit: Callable[[Chunk[Item]], str],
    finished_status: Callable[[str], dict[str, Any] | None],
    reject: Callable[[Item, str, str], None],
    record_chunk: Callable[[list[Item], str | None, dict[str, Any] | None], None],
    chunk_outcomes: list[ImportChunkOutcome],
    max_bytes: int,
    max_items: int,
    max_active: int,
    poll_interval: float,
    poll_timeout: float,
    chunk_ended: Callable[[], None] | None = None,
) -> None:
    """The whole life of a bulk import: chunk the encoded items, keep imports running, report each item.

    An item too large for any request goes to `on_oversized(item, size)`, the items of a chunk dotmailer
    refuses to `reject(item, code, reason)`; every other chunk goes to `record_chunk(items, import_id,
    final_status)` as it ends. `chunk_ended()` follows each chunk's report, refused or not, and is called once
    more at the end for items rejected after the last chunk.
    """
    chunks = build_chunks(
        encoded_items,
        head=head,
        tail=b"]}",
        max_bytes=max_bytes,
        max_items=max_items,
        on_oversized=on_oversized,
    )
    for items, import_id, status, refusal in run_import_window(
        client,
        chunks,
        submit=submit,
        finished_status=finished_status,
        max_active=max_active,
        poll_interval=poll_interval,
        poll_timeout=poll_timeout,
    ):
        if refusal is not None:
            chunk_outcomes.append(ImportChunkOutcome(None, "Refused", len(items), str(refusal)))
            for item in items:
                reject(item, refusal.code or "Refused", str(refusal))
        else:
            record_chunk(items, import_id, status)
        if chunk_ended is not None:
            chunk_ended()
    if chunk_ended is not None:
        chunk_ended()
