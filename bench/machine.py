"""The machine and the versions a results table was measured with."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import duckdb

from bench.sandbox_control import REPO_ROOT


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def git_revision(root: Path = REPO_ROOT) -> str:
    """The commit measured, marked when the tree differs from it. A previous run's results files do not count: one
    clone runs the default benchmark, then the larger one, and what they wrote changes nothing measured."""
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", ".", ":(exclude)bench/results*.md"], cwd=root,
                           capture_output=True, text=True).stdout
    return (result.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty.strip() else "")


# What the pipeline's CPU goes on, in miniature: parsing a page of order-like JSON in Python and in DuckDB. Runs on
# different machines differ mostly in CPU speed, and the sync's wall at a quota no longer binding follows it.
SPEED_CHECK_RECORDS = 250
SPEED_CHECK_ROUNDS = 50


def speed_check_page() -> str:
    """A fixed page of 250 records of about 3 KB each, each with a dozen line items like an order's."""
    records = [
        {"id": n, "email": f"customer{n}@example.com", "total_inc_tax": f"{n * 1.5:.4f}",
         "line_items": [{"id": n * 10 + i, "name": f"Product {i} of order {n}", "sku": f"SKU-{i:05d}",
                         "quantity": i + 1, "price_inc_tax": f"{i * 2.25:.4f}", "options": ["size", "colour"] * 8}
                        for i in range(12)]}
        for n in range(SPEED_CHECK_RECORDS)
    ]
    return json.dumps(records)


def speed_check() -> str:
    """CPU seconds for 50 parses of the fixed page, the fastest of five tries (a busy neighbour on the host slows a
    try down, never speeds it up): Python's json, then DuckDB's."""
    page = speed_check_page()
    conn = duckdb.connect(config={"threads": 1})

    def fastest(parse) -> float:
        tries = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(SPEED_CHECK_ROUNDS):
                parse()
            tries.append(time.process_time() - started)
        return min(tries)

    in_python = fastest(lambda: json.loads(page))
    in_duckdb = fastest(lambda: conn.execute("SELECT len(json_extract(?, '$[*]'))", [page]).fetchall())
    conn.close()
    return (f"{SPEED_CHECK_ROUNDS} parses of a {len(page) / 2**20:.1f} MiB page: Python json {in_python:.2f} s, "
            f"DuckDB {in_duckdb:.2f} s (lower is faster; compare runs by it)")


def machine_facts() -> dict[str, str]:
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} cores (nproc)",
        "CPU speed check": speed_check(),
        "RAM": f"{_ram_gib():.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "bc_pipeline": git_revision(),
        "dagster": importlib.metadata.version("dagster"),
        "duckdb": importlib.metadata.version("duckdb"),
    }
