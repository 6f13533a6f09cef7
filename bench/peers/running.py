"""Running one peer as the measured process, and what every peer's outcome needs from the sandbox."""

from __future__ import annotations

import os
import re
from pathlib import Path

from bench.measure import run_measured
from bench.outcome import RunOutcome, lost_ids
from bench.sandbox_control import REPO_ROOT, SandboxProcess
from bench.traffic import traffic_between

COMPARED_STREAMS = ("customers", "orders", "products")


def measured_peer_run(tool: str, scenario: str, sandbox: SandboxProcess, argv: list[str], logs: Path,
                      delivered_ids, line_items=None) -> RunOutcome:
    """Run `argv`; then `delivered_ids(stdout_path)` gives the ids per stream the peer delivered and
    `line_items(stdout_path)` how many line-item rows (None: the peer fetches none)."""
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{tool}-{scenario}")
    stdout, stderr = logs / f"{stem}.out", logs / f"{stem}.err"
    before = sandbox.counters()
    measured = run_measured(argv, env=dict(os.environ), cwd=REPO_ROOT, stdout=stdout, stderr=stderr)
    traffic = traffic_between(before, sandbox.counters())
    if measured.returncode != 0:
        return RunOutcome(tool, scenario, measured, traffic, note=f"exit {measured.returncode}; see {stderr}")
    delivered = delivered_ids(stdout)
    rows = {stream: len(ids) for stream, ids in delivered.items()}
    if line_items is not None:
        rows["line items"] = line_items(stdout)
    expected = {stream: sandbox.listed_ids(stream) for stream in COMPARED_STREAMS}
    return RunOutcome(tool, scenario, measured, traffic, rows, lost_ids(expected, delivered))
