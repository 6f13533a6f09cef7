"""`bc-pipeline disconnect` stops a sync already in flight, in another process, before its next request."""

import os
import subprocess
import sys
import time

import pytest

from bc_pipeline.sandbox.bigcommerce import BigCommerceSandboxConfig
from bc_pipeline.sandbox.dotmailer import DotmailerSandboxConfig
from bc_pipeline.sandbox.serve import start_sandboxes

# Pages slow enough that the sync is still extracting when disconnect lands.
SLOW_STORE = dict(seed=5, customers=3000, orders=3000, products=50, subscribers=50, latency_ms=150)
# Four streams, orders with two requests at a time (one from each end of its id range).
MAX_REQUESTS_IN_FLIGHT = 5


@pytest.fixture
def slow_sandboxes():
    pair = start_sandboxes(BigCommerceSandboxConfig(**SLOW_STORE), DotmailerSandboxConfig())
    yield pair
    pair.stop()


def test_disconnect_stops_a_running_sync_before_its_next_request(slow_sandboxes, tmp_path):
    env = {**os.environ, **slow_sandboxes.env(), "BC_PIPELINE_HOME": str(tmp_path / "home"),
           "BC_PIPELINE_SETTINGS": str(tmp_path / "connector.yaml")}
    (tmp_path / "connector.yaml").write_text("history_start_date: 2020-01-01\n", encoding="utf-8")
    command = [sys.executable, "-m", "bc_pipeline.cli"]
    sync = subprocess.Popen([*command, "sync"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while slow_sandboxes.bigcommerce.stats()["total_requests"] < 5:
            assert sync.poll() is None, sync.stderr.read()
            assert time.monotonic() < deadline, "the sync never started extracting"
            time.sleep(0.05)

        disconnected = subprocess.run([*command, "disconnect", "--yes"], env=env, cwd=tmp_path,
                                      capture_output=True, text=True, timeout=60)
        assert disconnected.returncode == 0, disconnected.stderr
        requests_at_disconnect = slow_sandboxes.bigcommerce.stats()["total_requests"]

        _, stderr = sync.communicate(timeout=120)
    finally:
        if sync.poll() is None:
            sync.kill()
    assert sync.returncode == 1
    assert "disconnected" in stderr
    # Requests already on the wire may finish; no stream starts another one.
    assert slow_sandboxes.bigcommerce.stats()["total_requests"] <= requests_at_disconnect + MAX_REQUESTS_IN_FLIGHT
    assert slow_sandboxes.dotmailer.stats()["total_requests"] == 0
