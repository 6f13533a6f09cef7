"""Reading what a Singer tap or an Airbyte source wrote: ids per stream and line items, from stdout."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path


def _messages(stdout: Path) -> Iterator[dict]:
    with stdout.open(encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("{"):
                yield json.loads(line)


def records(stdout: Path, unwrap: Callable[[dict], tuple[str, dict] | None]) -> Iterator[tuple[str, dict]]:
    for message in _messages(stdout):
        record = unwrap(message)
        if record is not None:
            yield record


def singer_record(message: dict) -> tuple[str, dict] | None:
    return (message["stream"], message["record"]) if message.get("type") == "RECORD" else None


def airbyte_record(message: dict) -> tuple[str, dict] | None:
    if message.get("type") != "RECORD":
        return None
    return message["record"]["stream"], message["record"]["data"]


def ids_by_stream(stdout: Path, unwrap, streams) -> dict[str, set[int]]:
    ids: dict[str, set[int]] = defaultdict(set)
    for stream, record in records(stdout, unwrap):
        if stream in streams and record.get("id") is not None:
            ids[stream].add(int(record["id"]))
    return {stream: ids.get(stream, set()) for stream in streams}
