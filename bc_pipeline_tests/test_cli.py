"""The `bc-pipeline` command as a user runs it: real processes, real servers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import requests

from bc_pipeline.env_file import read_env_file
from bc_pipeline.paths import pipeline_home
from bc_pipeline_tests.pipeline.expected import book_members, key, store_contacts

BC_PIPELINE = [sys.executable, "-m", "bc_pipeline.cli"]


def _wait_for(path: Path, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.stat().st_size):
        assert process.poll() is None, process.stderr.read()
        assert time.monotonic() < deadline, "sandbox did not write its env file"
        time.sleep(0.1)


def test_sandbox_serve_writes_its_env_and_stops_on_sigterm(tmp_path):
    env_file = tmp_path / "sandbox.env"
    process = subprocess.Popen(
        [*BC_PIPELINE, "sandbox", "serve", "--customers", "30", "--orders", "60", "--env-file", str(env_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _wait_for(env_file, process)
        env = read_env_file(env_file)
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        for base in (env["BC_API_BASE_URL"], env["DOTMAILER_API_BASE_URL"]):
            assert requests.get(f"{base}/_sandbox/stats", timeout=5).json()["total_requests"] == 0
        customers = requests.get(
            f"{env['BC_API_BASE_URL']}/stores/{env['BC_STORE_HASH']}/v3/customers",
            headers={"X-Auth-Token": env["BC_ACCESS_TOKEN"]}, timeout=5,
        ).json()
        assert customers["meta"]["pagination"]["total"] == 30
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    assert not env_file.exists()


def test_sync_exits_zero_on_success_and_non_zero_with_a_plain_reason(sandboxes, tmp_path):
    env = {**os.environ}
    ok = subprocess.run([*BC_PIPELINE, "sync"], env=env, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr[-3000:]
    assert "sync succeeded" in ok.stdout
    assert "Store customers" in ok.stdout
    assert "bigcommerce_streams" in ok.stdout

    again = subprocess.run([*BC_PIPELINE, "sync", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    summary = json.loads(again.stdout)
    assert summary["success"] and summary["failure"] is None
    # Nothing changed in the store, so nothing travels; every step of the job still reports its time.
    assert summary["streams"]["customers"]["requests"] == 1
    assert summary["loads"]["orders_insight"]["sent"] == 0
    assert summary["step_seconds"]["bigcommerce_streams"] > 0
    assert {"transform__contacts", "dotmailer__customers_book", "dotmailer__orders_insight"} <= set(
        summary["step_seconds"])

    env["BC_ACCESS_TOKEN"] = "a-wrong-token-0123456789"
    failed = subprocess.run([*BC_PIPELINE, "sync"], env=env, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1
    assert "sync failed" in failed.stderr
    assert "token" in failed.stderr.lower()
    assert "a-wrong-token-0123456789" not in failed.stdout + failed.stderr


def test_a_sync_needs_neither_pandas_nor_pyarrow_nor_numpy(sandboxes):
    """Together they would add about 80 MiB and half a second to every sync process, for a few small tables."""
    suppressed = sorted(store_contacts(sandboxes.bigcommerce))[0]
    sandboxes.dotmailer.suppress(suppressed)
    without_them = (
        "import runpy, sys; sys.modules.update(dict.fromkeys(('pandas', 'pyarrow', 'numpy'))); "
        "sys.argv = ['bc-pipeline', 'sync']; runpy.run_module('bc_pipeline.cli', run_name='__main__')"
    )
    run = subprocess.run([sys.executable, "-c", without_them], env={**os.environ}, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "sync succeeded" in run.stdout

    with duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True) as conn:
        rejected = {row[0] for row in conn.execute("SELECT email_key FROM dotmailer.rejected_contacts").fetchall()}
        known_suppressed = {row[0] for row in conn.execute("SELECT email_key FROM dotmailer.suppressions").fetchall()}
        orders_recorded = conn.execute(
            "SELECT count(*) FROM dotmailer.insight_records WHERE collection = 'Orders'").fetchone()[0]
    assert key(suppressed) in known_suppressed
    members = book_members(sandboxes.dotmailer, "Store customers")
    assert set(members) == store_contacts(sandboxes.bigcommerce) - rejected - {key(suppressed)}
    assert orders_recorded and len(sandboxes.dotmailer.state()["insight"]["Orders"]) == orders_recorded
