"""`serve_receiver` as the CLI runs it: a foreground uvicorn process whose logs never show the secret."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from bc_pipeline.webhooks import DEFAULT_SECRET_HEADER, WEBHOOK_PATH, Inbox
from bc_pipeline_tests.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]

SERVE = """
import os, sys
from bc_pipeline.webhooks import serve_receiver

serve_receiver("127.0.0.1", int(sys.argv[1]), sys.argv[2], os.environ["TEST_WEBHOOK_SECRET"])
"""


def _wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise AssertionError("receiver did not become healthy")


def test_serve_receiver_stores_callbacks_and_never_logs_the_secret(inbox_path, shared_secret, make_callback):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(port), str(inbox_path)],
        cwd=REPO_ROOT,
        env={**os.environ, "TEST_WEBHOOK_SECRET": shared_secret},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_until_healthy(url, process)
        body = make_callback("store/order/archived", {"type": "order", "id": 250})
        good_secret = {DEFAULT_SECRET_HEADER: shared_secret}
        accepted = requests.post(url + WEBHOOK_PATH, json=body, headers=good_secret, timeout=5)
        refused = requests.post(url + WEBHOOK_PATH, json=body, headers={DEFAULT_SECRET_HEADER: "nope"}, timeout=5)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)

    assert (accepted.status_code, refused.status_code) == (200, 401)
    assert Inbox(inbox_path).deleted_ids("order") == [250]
    assert "POST /webhooks/bigcommerce" in output
    assert shared_secret not in output
