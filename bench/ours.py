"""Our pipeline's scenarios: the whole sync (full, no change, after N changes) and the extractor alone."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import duckdb

from bench.measure import run_measured
from bench.outcome import RunOutcome, lost_ids
from bench.sandbox_control import REPO_ROOT, SandboxProcess
from bench.traffic import traffic_between

TOOL = "bc_pipeline"
DELIVERED_TABLES = {"customers": "customers", "subscribers": "subscribers", "orders": "orders",
                    "products": "products"}
COMPARED_STREAMS = ("customers", "orders", "products")


def delivered_ids(warehouse: Path, streams) -> dict[str, set[int]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return {stream: {row[0] for row in conn.execute(f"SELECT id FROM bigcommerce.{DELIVERED_TABLES[stream]}").fetchall()}
                for stream in streams}


def line_item_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute("SELECT count(*) FROM bigcommerce.order_line_items").fetchone()[0]


def _pipeline_env(sandbox: SandboxProcess, home: Path) -> dict[str, str]:
    return {**os.environ, **sandbox.env, "BC_PIPELINE_HOME": str(home),
            "BC_PIPELINE_SETTINGS": str(REPO_ROOT / "connector.yaml")}


def _measured_run(sandbox: SandboxProcess, argv: list[str], env: dict[str, str], logs: Path, name: str):
    before = sandbox.counters()
    measured = run_measured(argv, env=env, cwd=REPO_ROOT, stdout=logs / f"{name}.out", stderr=logs / f"{name}.err")
    return measured, traffic_between(before, sandbox.counters())


def sync(sandbox: SandboxProcess, home: Path, scenario: str, logs: Path) -> RunOutcome:
    """`bc-pipeline sync` in its own process; `home` keeps the warehouse (and watermarks) between calls."""
    argv = [sys.executable, "-m", "bc_pipeline.cli", "sync", "--json"]
    measured, traffic = _measured_run(sandbox, argv, _pipeline_env(sandbox, home), logs, f"ours-{scenario}")
    if measured.returncode != 0:
        return RunOutcome(TOOL, scenario, measured, traffic, note=f"failed; see {logs}/ours-{scenario}.err")
    warehouse = home / "warehouse.duckdb"
    rows = {stream: len(ids) for stream, ids in delivered_ids(warehouse, DELIVERED_TABLES).items()}
    summary = json.loads((logs / f"ours-{scenario}.out").read_text(encoding="utf-8"))
    return RunOutcome(TOOL, scenario, measured, traffic, rows, round_steps=summary["round_step_seconds"])


def extract_only(sandbox: SandboxProcess, workdir: Path, scenario: str, logs: Path,
                 streams=COMPARED_STREAMS) -> RunOutcome:
    """The extractor without Dagster or dotmailer: the same streams the peers are compared on."""
    warehouse = workdir / f"{scenario}.duckdb"
    warehouse.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "bench.extract_child", str(warehouse), sandbox.store_api_root, *streams]
    measured, traffic = _measured_run(sandbox, argv, {**os.environ, **sandbox.env}, logs, f"ours-{scenario}")
    if measured.returncode != 0:
        return RunOutcome(TOOL, scenario, measured, traffic, note=f"failed; see {logs}/ours-{scenario}.err")
    delivered = delivered_ids(warehouse, streams)
    rows = {stream: len(ids) for stream, ids in delivered.items()}
    if "orders" in streams:
        rows["line items"] = line_item_rows(warehouse)
    expected = {stream: sandbox.listed_ids(stream) for stream in streams}
    return RunOutcome(TOOL, scenario, measured, traffic, rows, lost_ids(expected, delivered))
