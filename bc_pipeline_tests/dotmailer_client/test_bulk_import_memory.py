"""A bulk import holds one copy of a chunk's body: not its records' parts as well once joined, and not the body once
dotmailer has it. A body is megabytes; the tests measure what Python holds with tracemalloc."""

import tracemalloc

from bc_pipeline.dotmailer.bulk_import import Chunk, build_chunks, run_import_window
from bc_pipeline.dotmailer.client import DotmailerClient

MIB = 1024 * 1024


def records(count: int, size: int):
    for number in range(count):
        yield number, b"x" * size


def test_a_body_is_joined_in_one_copy_and_its_parts_go_before_it_is_sent():
    chunks = build_chunks(records(2_000, 1024), head=b'{"records":[', tail=b"]}", max_bytes=16 * MIB,
                          max_items=2_000, on_oversized=lambda record, size: None)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        chunk = next(chunks)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    body = len(chunk.body)
    assert body > 2 * 1000 * 1024 and chunk.items == list(range(2_000))
    # The parts and the body at the join; `head + b",".join(parts) + tail` held two more copies of the body there.
    assert peak - before < 2.5 * body
    # Handed on to be sent, the body alone: the paused generator no longer holds the parts it was joined from.
    assert held - before < 1.2 * body


def test_a_sent_body_is_let_go_while_its_import_is_polled():
    client = DotmailerClient("user", "password", base_url="http://127.0.0.1:9", sleep=lambda seconds: None)
    chunks = (Chunk([number], b"x" * MIB) for number in range(3))
    held_while_polled = []

    def finished_status(import_id: str) -> dict:
        held_while_polled.append(tracemalloc.get_traced_memory()[0] - before)
        return {"status": "Finished"}

    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        ended = list(run_import_window(client, chunks, submit=lambda chunk: f"import-{chunk.items[0]}",
                                       finished_status=finished_status, max_active=1, poll_interval=1.0,
                                       poll_timeout=60.0))
    finally:
        tracemalloc.stop()

    assert [items for items, _, _, _ in ended] == [[0], [1], [2]]
    assert len(held_while_polled) == 3 and max(held_while_polled) < MIB / 2
