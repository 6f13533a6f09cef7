"""The `.env` file that holds the connector's credentials: updated in place, readable only by its owner.

Dagster loads `.env` from its working directory, so this is where `connect` leaves the secrets. Every write
goes to a new file created with mode 0600 (never world-readable, not even for an instant, whatever the umask)
that then replaces the old one; lines this module does not manage are kept as they were.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values

OWNER_ONLY = 0o600
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
_BARE_VALUE = re.compile(r"^[A-Za-z0-9_./:@+,=-]*$")


def read_env_file(path: Path) -> dict[str, str]:
    """The variables `path` assigns (empty when it does not exist), parsed as Dagster parses them."""
    if not path.exists():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def _quoted(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError("a value written to .env must be a single line")
    if _BARE_VALUE.match(value):
        return value
    # Single quotes keep `#`, `$` and spaces literal; python-dotenv unescapes only \\ and \' inside them.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _assigned_name(line: str) -> str | None:
    match = _ASSIGNMENT.match(line)
    return match.group(1) if match else None


def update_env_file(path: Path, assign: Mapping[str, str] | None = None, remove: Iterable[str] = ()) -> None:
    """Set the variables in `assign` (in place where already assigned, else appended) and drop those in `remove`."""
    assign = dict(assign or {})
    remove = set(remove) - set(assign)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    written: set[str] = set()
    kept: list[str] = []
    for line in lines:
        name = _assigned_name(line)
        if name in remove or name in written:
            continue
        if name in assign:
            kept.append(f"{name}={_quoted(assign[name])}")
            written.add(name)
        else:
            kept.append(line)
    kept.extend(f"{name}={_quoted(value)}" for name, value in assign.items() if name not in written)
    _write_owner_only(path, "".join(line + "\n" for line in kept))


def _write_owner_only(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates the file with mode 0600 from the first instant, in the same directory so the
    # replace is atomic; a reader sees the old file or the new one, never half of either.
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, OWNER_ONLY)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
