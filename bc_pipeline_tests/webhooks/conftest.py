"""Fixtures for the webhook receiver and inbox: callback bodies shaped like BigCommerce's, and a live receiver."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

import pytest

from bc_pipeline.sandbox.server import RunningServer, serve_in_thread
from bc_pipeline.webhooks import Inbox, create_receiver_app, parse_callback

# 2026-11-28T00:00:00Z: a fixed event time keeps cart-age assertions independent of the wall clock.
EVENT_TIME = int(datetime(2026, 11, 28, tzinfo=timezone.utc).timestamp())

MakeCallback = Callable[..., dict]


def _callback(
    scope: str, data: dict | None = None, *, created_at: int | None = EVENT_TIME, event_hash: str | None = None
) -> dict:
    """A callback body as webhooks.v3.yml shows it; the hash is derived from the content unless given."""
    body: dict = {"store_id": "1025646", "producer": "stores/abc123", "scope": scope, "data": data or {}}
    if created_at is not None:
        body["created_at"] = created_at
    body["hash"] = event_hash or hashlib.sha1(json.dumps(body, sort_keys=True).encode()).hexdigest()
    return body


@pytest.fixture
def make_callback() -> MakeCallback:
    return _callback


@pytest.fixture
def shared_secret() -> str:
    return "bcp-whsec-" + secrets.token_hex(16)


@pytest.fixture
def inbox_path(tmp_path):
    return tmp_path / "webhooks" / "inbox.sqlite"


@pytest.fixture
def inbox(inbox_path) -> Inbox:
    return Inbox(inbox_path)


@pytest.fixture
def append_callback(inbox) -> Callable[[dict], bool]:
    """Append a callback body straight to the inbox, as the receiver would."""

    def append(body: dict) -> bool:
        return inbox.append(parse_callback(json.dumps(body).encode(), received_at=datetime.now(timezone.utc)))

    return append


@pytest.fixture
def receiver(inbox_path, shared_secret) -> Iterator[RunningServer]:
    server = serve_in_thread(create_receiver_app(inbox_path, shared_secret))
    yield server
    server.stop()
