"""dlt's rest_api source (customers, orders, products into DuckDB), with its jsonl and its default loader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from bench.outcome import RunOutcome
from bench.peers.running import COMPARED_STREAMS, measured_peer_run
from bench.peers.venv import installed_version, peer_python
from bench.sandbox_control import SandboxProcess

VENV = "dlt"
INSTALL = [["dlt[duckdb]"]]
ENTRY = Path(__file__).parent / "entry" / "dlt_rest_api_main.py"
# None lets dlt pick its default file format for DuckDB (insert_values).
LOADERS = {"jsonl": "jsonl", "default": None}


def install() -> Path:
    return peer_python(VENV, INSTALL)


def version() -> str:
    return f"dlt {installed_version(install(), 'dlt')}"


def run(sandbox: SandboxProcess, workdir: Path, logs: Path, scenario: str, loader: str) -> RunOutcome:
    python = install()
    home = workdir / f"dlt-{loader}-{scenario}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    database = home / "bench.duckdb"
    config = home / "config.json"
    config.write_text(json.dumps({"api_root": sandbox.store_api_root, "token": sandbox.env["BC_ACCESS_TOKEN"],
                                  "duckdb": str(database), "pipelines_dir": str(home / "pipelines"),
                                  "loader_file_format": LOADERS[loader]}))

    def delivered_ids(_stdout: Path) -> dict[str, set[int]]:
        with duckdb.connect(str(database), read_only=True) as conn:
            return {stream: {row[0] for row in conn.execute(f"SELECT id FROM bigcommerce.{stream}").fetchall()}
                    for stream in COMPARED_STREAMS}

    return measured_peer_run(f"dlt rest_api ({loader})", scenario, sandbox, [str(python), str(ENTRY), str(config)],
                             logs, delivered_ids)
