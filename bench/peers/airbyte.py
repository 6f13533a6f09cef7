"""Airbyte source-bigcommerce 0.2.22 on airbyte-cdk 1.3.0 (the connector's pin, 1.0.0, does not import on
Python 3.11, so the CDK goes in first and the connector with --no-deps): customers, orders, products and
order_products, the stream that holds line items (one request per order, after re-reading the orders)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.outcome import RunOutcome
from bench.peers.running import COMPARED_STREAMS, measured_peer_run
from bench.peers.singer_output import airbyte_record, ids_by_stream, records
from bench.peers.tap_bigcommerce import earliest_modified
from bench.peers.venv import installed_version, peer_python
from bench.sandbox_control import SandboxProcess

VENV = "airbyte"
INSTALL = [["airbyte-cdk==1.3.0"], ["--no-deps", "airbyte-source-bigcommerce==0.2.22"]]
ENTRY = Path(__file__).parent / "entry" / "airbyte_main.py"
TOOL = "Airbyte source-bigcommerce"
LINE_ITEMS_STREAM = "order_products"


def install() -> Path:
    return peer_python(VENV, INSTALL)


def version() -> str:
    python = install()
    return (f"airbyte-source-bigcommerce {installed_version(python, 'airbyte-source-bigcommerce')} "
            f"on airbyte-cdk {installed_version(python, 'airbyte-cdk')}")


def _configured_catalog(discover_stdout: str) -> dict:
    catalog = next(json.loads(line) for line in discover_stdout.splitlines() if '"CATALOG"' in line)["catalog"]
    wanted = {*COMPARED_STREAMS, LINE_ITEMS_STREAM}
    return {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
                        for stream in catalog["streams"] if stream["name"] in wanted]}


def run(sandbox: SandboxProcess, workdir: Path, logs: Path, scenario: str) -> RunOutcome:
    python = install()
    home = workdir / f"airbyte-{scenario}"
    home.mkdir(parents=True, exist_ok=True)
    config, catalog = home / "config.json", home / "catalog.json"
    config.write_text(json.dumps({"start_date": earliest_modified(sandbox)[:10],
                                  "access_token": sandbox.env["BC_ACCESS_TOKEN"],
                                  "store_hash": sandbox.env["BC_STORE_HASH"]}))
    discovered = subprocess.run([str(python), str(ENTRY), sandbox.bigcommerce_url, "discover", "--config", str(config)],
                                capture_output=True, text=True, check=True).stdout
    catalog.write_text(json.dumps(_configured_catalog(discovered)))

    def delivered(stdout: Path) -> dict[str, set[int]]:
        return ids_by_stream(stdout, airbyte_record, COMPARED_STREAMS)

    def line_items(stdout: Path) -> int:
        return sum(1 for stream, _ in records(stdout, airbyte_record) if stream == LINE_ITEMS_STREAM)

    argv = [str(python), str(ENTRY), sandbox.bigcommerce_url, "read", "--config", str(config),
            "--catalog", str(catalog)]
    return measured_peer_run(TOOL, scenario, sandbox, argv, logs, delivered, line_items)
