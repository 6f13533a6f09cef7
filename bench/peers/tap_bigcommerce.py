"""Singer tap-bigcommerce 1.1.3: customers, orders (line items, shipping addresses and coupons fetched
per order) and products, from a catalog whose three streams are `selected: true`."""

from __future__ import annotations

import json
import subprocess
from datetime import timezone
from pathlib import Path

from bench.outcome import RunOutcome
from bench.peers.running import COMPARED_STREAMS, measured_peer_run
from bench.peers.singer_output import ids_by_stream, records, singer_record
from bench.peers.venv import installed_version, peer_python
from bench.sandbox_control import SandboxProcess

VENV = "tap_bigcommerce"
INSTALL = [["tap-bigcommerce==1.1.3"]]
ENTRY = Path(__file__).parent / "entry" / "tap_bigcommerce_main.py"
TOOL = "tap-bigcommerce"


def install() -> Path:
    return peer_python(VENV, INSTALL)


def version() -> str:
    return f"tap-bigcommerce {installed_version(install(), 'tap-bigcommerce')}"


def earliest_modified(sandbox: SandboxProcess) -> str:
    """The tap walks customers one day per request from `start_date`: it starts on the store's first day,
    not years before it, which is the kindest start it can be given."""
    first = min(sandbox.summary(stream).earliest_modified for stream in COMPARED_STREAMS).astimezone(timezone.utc)
    return first.replace(hour=0, minute=0, second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _selected_catalog(discovered: dict) -> dict:
    streams = []
    for stream in discovered["streams"]:
        if stream["tap_stream_id"] not in COMPARED_STREAMS:
            continue
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
        streams.append(stream)
    return {"streams": streams}


def run(sandbox: SandboxProcess, workdir: Path, logs: Path, scenario: str) -> RunOutcome:
    python = install()
    home = workdir / f"tap-{scenario}"
    home.mkdir(parents=True, exist_ok=True)
    config, catalog = home / "config.json", home / "catalog.json"
    config.write_text(json.dumps({"start_date": earliest_modified(sandbox), "client_id": "bench",
                                  "access_token": sandbox.env["BC_ACCESS_TOKEN"],
                                  "store_hash": sandbox.env["BC_STORE_HASH"]}))
    discovered = subprocess.run([str(python), str(ENTRY), sandbox.bigcommerce_url, "--config", str(config),
                                 "--discover"], capture_output=True, text=True, check=True).stdout
    catalog.write_text(json.dumps(_selected_catalog(json.loads(discovered))))

    def delivered(stdout: Path) -> dict[str, set[int]]:
        return ids_by_stream(stdout, singer_record, COMPARED_STREAMS)

    def line_items(stdout: Path) -> int:
        return sum(len(record.get("products") or []) for stream, record in records(stdout, singer_record)
                   if stream == "orders")

    argv = [str(python), str(ENTRY), sandbox.bigcommerce_url, "--config", str(config), "--catalog", str(catalog)]
    return measured_peer_run(TOOL, scenario, sandbox, argv, logs, delivered, line_items)
