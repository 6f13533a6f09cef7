"""A pipeline process reads the inbox while the receiver writes to it: WAL lets both proceed."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from bc_pipeline.webhooks import DEFAULT_SECRET_HEADER, WEBHOOK_PATH

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENT_COUNT = 120

# The reader holds one read transaction open for its whole life, which in rollback-journal mode would block
# every write, and meanwhile follows the inbox with a cursor in small pages.
READER = """
import json, sqlite3, sys, time
from bc_pipeline.webhooks.inbox import Inbox

path, expected = sys.argv[1], int(sys.argv[2])
inbox = Inbox(path)
held = sqlite3.connect(path, isolation_level=None)
held.execute("BEGIN")
held.execute("SELECT COUNT(*) FROM webhook_events").fetchone()
print("ready", flush=True)

seen, cursor, deadline = [], 0, time.monotonic() + 15
while len(seen) < expected and time.monotonic() < deadline:
    batch = inbox.events_after(cursor, limit=7)
    seen += [(event.seq, event.hash) for event in batch]
    if batch:
        cursor = batch[-1].seq
    else:
        time.sleep(0.005)
snapshot_count = held.execute("SELECT COUNT(*) FROM webhook_events").fetchone()[0]
held.execute("COMMIT")
print(json.dumps({"seen": seen, "snapshot_count": snapshot_count}), flush=True)
"""


def test_reader_process_follows_the_inbox_while_the_receiver_writes(
    receiver, inbox_path, shared_secret, make_callback
):
    bodies = [make_callback("store/customer/deleted", {"type": "customer", "id": n}) for n in range(EVENT_COUNT)]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(inbox_path), str(EVENT_COUNT)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "ready", reader.stderr.read()

        def deliver(body: dict) -> int:
            headers = {DEFAULT_SECRET_HEADER: shared_secret}
            return requests.post(receiver.url + WEBHOOK_PATH, json=body, headers=headers, timeout=10).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(deliver, bodies))
        output, errors = reader.communicate(timeout=20)
    finally:
        reader.kill()
    assert reader.returncode == 0, errors

    assert statuses == [200] * EVENT_COUNT
    result = json.loads(output)
    seqs = [seq for seq, _ in result["seen"]]
    assert seqs == list(range(1, EVENT_COUNT + 1))
    assert {event_hash for _, event_hash in result["seen"]} == {body["hash"] for body in bodies}
    assert result["snapshot_count"] == 0
