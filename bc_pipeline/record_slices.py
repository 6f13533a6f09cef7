"""A response body's records cut into smaller JSON arrays, each record's text exactly as it was received.

DuckDB parses a page at several times its size, so a page of very large records is staged a slice at a time.
Only the path forms the streams use are understood: `$[*]` (a bare array) and `$.key[*]` (an array under keys).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass

RECORDS_PATH = re.compile(r"\$((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\[\*\]")
WHITESPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class RecordSlice:
    text: str                 # a JSON array of the records
    ids: tuple[object, ...]   # each record's "id", for messages about the slice


def record_slices(body: str, records_path: str, max_chars: int) -> Iterator[RecordSlice]:
    """The records at `records_path` in slices of at most `max_chars`; a record longer than that travels alone."""
    match = RECORDS_PATH.fullmatch(records_path)
    if match is None:
        raise ValueError(f"records path {records_path!r} is not of the form $[*] or $.key[*]")
    keys = [key for key in match.group(1).split(".") if key]
    position = _array_start(body, keys)
    if position is None:
        return
    parts: list[str] = []
    ids: list[object] = []
    size = 2
    for start, end, record in _elements(body, position):
        if parts and size + 1 + end - start > max_chars:
            yield RecordSlice("[" + ",".join(parts) + "]", tuple(ids))
            parts, ids, size = [], [], 2
        size += (1 if parts else 0) + end - start
        parts.append(body[start:end])
        ids.append(record.get("id") if isinstance(record, dict) else None)
    if parts:
        yield RecordSlice("[" + ",".join(parts) + "]", tuple(ids))


def _skip_space(body: str, position: int) -> int:
    return WHITESPACE.match(body, position).end()


def _array_start(body: str, keys: list[str]) -> int | None:
    """Where the records array opens (just after its `[`), or None when the path leads to no array."""
    position = _skip_space(body, 0)
    for key in keys:
        if not body.startswith("{", position):
            return None
        position = _skip_space(body, position + 1)
        while not body.startswith("}", position):
            name, position = _DECODER.raw_decode(body, position)
            position = _skip_space(body, position)
            position = _skip_space(body, _expect(body, position, ":"))
            if name == key:
                break
            _, position = _DECODER.raw_decode(body, position)
            position = _skip_space(body, position)
            if body.startswith(",", position):
                position = _skip_space(body, position + 1)
        else:
            return None
    if not body.startswith("[", position):
        return None
    return position + 1


def _elements(body: str, position: int) -> Iterator[tuple[int, int, object]]:
    position = _skip_space(body, position)
    if body.startswith("]", position):
        return
    while True:
        record, end = _DECODER.raw_decode(body, position)
        yield position, end, record
        position = _skip_space(body, end)
        if body.startswith("]", position):
            return
        position = _skip_space(body, _expect(body, position, ","))


def _expect(body: str, position: int, token: str) -> int:
    if not body.startswith(token, position):
        raise ValueError(f"malformed JSON at character {position}: expected {token!r}")
    return position + 1
