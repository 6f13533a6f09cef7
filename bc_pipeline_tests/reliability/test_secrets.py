"""A full sync and a failing one, run with distinctive credentials: nothing they leave behind holds them."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb

from bc_pipeline.paths import pipeline_home
from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.reliability.harness import fast_defs

BC_PIPELINE = Path(sys.executable).with_name("bc-pipeline")
ACCESS_TOKEN = "bctok-Zq7xK2mW9vLr4Tn8"
API_PASSWORD = "dmpw-Hs3Jd8Pq5Wc1Yb6"
SMALL_STORE = dict(customers=30, subscribers=30, orders=40, products=10)


def _needles(api_user: str) -> dict[str, bytes]:
    """Each secret as it could be written: plain, UTF-16 (Windows-ish writers) and inside a Basic auth header."""
    basic = base64.b64encode(f"{api_user}:{API_PASSWORD}".encode()).decode()
    found = {}
    for name, secret in {"access token": ACCESS_TOKEN, "API password": API_PASSWORD, "Basic auth": basic}.items():
        found[name] = secret.encode()
        found[f"{name} (UTF-16)"] = secret.encode("utf-16-le")
    return found


def _hits_in_files(root: Path, needles: dict[str, bytes]) -> list[str]:
    return [f"{name} in {path}" for path in sorted(p for p in root.rglob("*") if p.is_file())
            for name, needle in needles.items() if needle in path.read_bytes()]


def _hits_in_text(label: str, text: str, needles: dict[str, bytes]) -> list[str]:
    return [f"{name} in {label}" for name, needle in needles.items() if needle.decode("latin-1") in text]


def _hits_in_warehouse(needles: dict[str, bytes]) -> list[str]:
    """DuckDB compresses strings on disk, so the bytes alone prove little: ask every text column too."""
    hits = []
    with duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True) as conn:
        columns = conn.execute("SELECT table_schema, table_name, column_name FROM information_schema.columns "
                               "WHERE data_type IN ('VARCHAR', 'JSON')").fetchall()
        for schema, table, column in columns:
            for name, needle in needles.items():
                count = conn.execute(f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}" LIKE ?',
                                     [f"%{needle.decode('latin-1')}%"]).fetchall()[0][0]
                if count:
                    hits.append(f"{name} in {schema}.{table}.{column}")
    return hits


def _cli(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(BC_PIPELINE), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_no_credential_is_left_anywhere_by_a_sync_or_a_failing_one(start_pipeline, tmp_path):
    pipeline = start_pipeline(bigcommerce=dict(access_token=ACCESS_TOKEN, **SMALL_STORE),
                              dotmailer=dict(api_password=API_PASSWORD))
    needles = _needles(pipeline.dotmailer.config.api_user)
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}

    cli_sync = _cli(["sync"], tmp_path, env)
    assert cli_sync.returncode == 0, cli_sync.stdout + cli_sync.stderr
    instance_dir = tmp_path / "instance"
    instance_dir.mkdir()
    with dg.DagsterInstance.local_temp(str(instance_dir)) as instance:
        # Both APIs failing for good: the run's exception texts name the requests that failed.
        pipeline.bigcommerce.set_fault("http_503", 1.0)
        pipeline.dotmailer.set_fault("http_500", 1.0)
        failing = run_sync(fast_defs(), instance=instance)
        pipeline.bigcommerce.clear_faults()
        pipeline.dotmailer.clear_faults()
        healthy = run_sync(fast_defs(), instance=instance)
    status = _cli(["status"], tmp_path, env)

    assert not failing.success and failing.failure
    assert healthy.success, healthy.failure
    assert status.returncode == 0, status.stdout + status.stderr
    hits = (
        _hits_in_text("`bc-pipeline sync` output", cli_sync.stdout + cli_sync.stderr, needles)
        + _hits_in_text("the failing run's errors", failing.failure, needles)
        + _hits_in_text("`bc-pipeline status` output", status.stdout + status.stderr, needles)
        + _hits_in_files(dagster_home, needles)
        + _hits_in_files(instance_dir, needles)
        + _hits_in_files(pipeline.home, needles)
        + _hits_in_warehouse(needles)
    )
    assert hits == []
    # The searches above looked where the runs wrote: the event log holds the failure, the home the warehouse.
    assert any(instance_dir.rglob("*.db")) and (pipeline.home / "warehouse.duckdb").is_file()
