"""The machine and the versions a results table was measured with."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess

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


def _git_revision() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT, capture_output=True, text=True).stdout
    return (result.stdout.strip() or "unknown") + (" + uncommitted changes" if dirty.strip() else "")


def machine_facts() -> dict[str, str]:
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} cores (nproc)",
        "RAM": f"{_ram_gib():.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "bc_pipeline": _git_revision(),
        "dagster": importlib.metadata.version("dagster"),
        "duckdb": importlib.metadata.version("duckdb"),
    }
