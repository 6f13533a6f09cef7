"""The disconnected marker: a file under $BC_PIPELINE_HOME that every API client checks before each request.

`bc-pipeline disconnect` writes it first, so a run already in flight (in any process) stops before its next
request. It stays cheap to check (one `stat`) and has imports only bc_pipeline.paths from the rest of the package, so the API
clients can import it without a cycle.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path

from bc_pipeline.paths import pipeline_home

MARKER_NAME = "DISCONNECTED"

# Set only around connect's credential checks and disconnect's webhook deletion, in the calling context:
# a run's threads never see it.
_allowed_while_disconnected: ContextVar[bool] = ContextVar("allowed_while_disconnected", default=False)


class Disconnected(RuntimeError):
    """The connector was disconnected (`bc-pipeline disconnect`); no API request may be made."""


def _home(home: str | os.PathLike[str] | None) -> Path:
    return Path(home) if home is not None else pipeline_home()


def marker_path(home: str | os.PathLike[str] | None = None) -> Path:
    return _home(home) / MARKER_NAME


def ensure_connected(home: str | os.PathLike[str] | None = None) -> None:
    """Raise `Disconnected` if the connector was disconnected; call before every API request."""
    if _allowed_while_disconnected.get():
        return
    if marker_path(home).exists():
        raise Disconnected(
            "the connector is disconnected (bc-pipeline disconnect): no request is made to BigCommerce or "
            "dotmailer until `bc-pipeline connect` runs again"
        )


def write_marker(details: dict, home: str | os.PathLike[str] | None = None) -> Path:
    """Write the marker (atomically, so a concurrent reader sees all of it or none) with `details` as JSON."""
    path = marker_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"disconnected_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **details}
    tmp = path.with_name(f".{MARKER_NAME}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_marker(home: str | os.PathLike[str] | None = None) -> dict | None:
    """The details written at disconnect, or None when connected."""
    try:
        return json.loads(marker_path(home).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError:
        return {}


def remove_marker(home: str | os.PathLike[str] | None = None) -> None:
    marker_path(home).unlink(missing_ok=True)


@contextmanager
def allow_requests_while_disconnected() -> Iterator[None]:
    """Let `connect` test new credentials, and `disconnect` delete its webhooks, while the marker is present."""
    token = _allowed_while_disconnected.set(True)
    try:
        yield
    finally:
        _allowed_while_disconnected.reset(token)
