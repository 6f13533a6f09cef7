"""Wall time, CPU seconds and peak RSS of one child process (and the children it waited for)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).with_name("rusage_launcher.py")


@dataclass(frozen=True)
class Measured:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    returncode: int


def run_measured(argv: list[str], *, env: dict[str, str], cwd: Path, stdout: Path, stderr: Path) -> Measured:
    """Run `argv` to its end through the launcher, which reports the command's own rusage (os.wait4)."""
    stdout.parent.mkdir(parents=True, exist_ok=True)
    result = stdout.with_suffix(".rusage.json")
    with stdout.open("wb") as out, stderr.open("wb") as err:
        subprocess.run([sys.executable, "-S", str(LAUNCHER), str(result), *argv], env=env, cwd=cwd, stdout=out,
                       stderr=err, check=True)
    usage = json.loads(result.read_text(encoding="utf-8"))
    return Measured(usage["wall_s"], usage["cpu_s"], usage["peak_rss_kib"] / 1024, usage["returncode"])
