"""Each peer in its own virtual environment under bench/.venvs/, installed from PyPI by pip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

VENVS_DIR = Path(__file__).resolve().parents[1] / ".venvs"


def peer_python(name: str, install_steps: list[list[str]]) -> Path:
    """The venv's interpreter, after running each `pip install` argument list once (a stamp file
    remembers that the steps succeeded, so a second benchmark run installs nothing)."""
    venv = VENVS_DIR / name
    python = venv / "bin" / "python"
    stamp = venv / ".bench-installed"
    wanted = repr(install_steps)
    if stamp.exists() and stamp.read_text() == wanted:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for step in install_steps:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *step],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stamp.write_text(wanted)
    return python


def installed_version(python: Path, distribution: str) -> str:
    result = subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
                            capture_output=True, text=True)
    return result.stdout.strip() or "not installed"
