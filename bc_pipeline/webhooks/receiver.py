"""HTTP receiver for BigCommerce webhooks: check the shared secret, read the callback, append it to the inbox.

BigCommerce sends the custom `headers` given when a hook is created (`POST /v3/hooks`) with every callback;
one of them carries the shared secret that proves the callback comes from our hooks. The secret is compared
in constant time and is never logged, stored or echoed.

Any 2xx tells BigCommerce the event is delivered; anything else makes it retry (60 s up to a day, for ~48 h).
So a duplicate is acknowledged with 200, and a failure to store answers 503 to get the event sent again.
"""

from __future__ import annotations

import hmac
import logging
import sqlite3
from datetime import datetime, timezone
from os import PathLike

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bc_pipeline.loopback import is_loopback
from bc_pipeline.webhooks.events import InvalidCallback, parse_callback
from bc_pipeline.webhooks.inbox import Inbox

DEFAULT_SECRET_HEADER = "X-BC-Pipeline-Secret"
WEBHOOK_PATH = "/webhooks/bigcommerce"
# Callbacks are a few hundred bytes; the cap keeps an exposed endpoint from buffering arbitrary uploads.
MAX_BODY_BYTES = 64 * 1024

logger = logging.getLogger(__name__)


class _BodyTooLarge(Exception):
    pass


def create_receiver_app(
    inbox_path: str | PathLike[str],
    shared_secret: str,
    secret_header: str = DEFAULT_SECRET_HEADER,
) -> Starlette:
    """The receiver: `POST /webhooks/bigcommerce` appends callbacks to the inbox at `inbox_path`; `GET /healthz`."""
    if not shared_secret:
        raise ValueError("the webhook shared secret must not be empty")
    expected_secret = shared_secret.encode("utf-8")
    inbox = Inbox(inbox_path)

    async def receive_callback(request: Request) -> JSONResponse:
        presented = request.headers.get(secret_header)
        # Starlette decodes header bytes as latin-1; encoding back gives exactly the bytes that were sent.
        if presented is None or not hmac.compare_digest(presented.encode("latin-1"), expected_secret):
            logger.warning("rejected webhook from %s: missing or wrong %s header", _client(request), secret_header)
            return JSONResponse({"error": f"missing or wrong {secret_header} header"}, status_code=401)

        try:
            body = await _read_body(request)
        except _BodyTooLarge:
            return JSONResponse({"error": f"body larger than {MAX_BODY_BYTES} bytes"}, status_code=413)

        try:
            event = parse_callback(body, received_at=datetime.now(timezone.utc))
        except InvalidCallback as exc:
            logger.warning("rejected webhook from %s: %s", _client(request), exc)
            return JSONResponse({"error": str(exc)}, status_code=400)

        try:
            stored = await run_in_threadpool(inbox.append, event)
        except sqlite3.Error as exc:
            logger.error("could not store webhook %s (%s): %s", event.hash, event.scope, exc)
            return JSONResponse({"error": "webhook inbox unavailable; retry later"}, status_code=503)

        if stored:
            logger.info("stored webhook %s %s id=%s", event.hash, event.scope, event.data_id)
            return JSONResponse({"status": "stored"})
        logger.info("ignored duplicate webhook %s %s", event.hash, event.scope)
        return JSONResponse({"status": "duplicate"})

    async def health(request: Request) -> JSONResponse:
        try:
            await run_in_threadpool(inbox.max_seq)
        except sqlite3.Error as exc:
            logger.error("webhook inbox %s unreadable: %s", inbox.path, exc)
            return JSONResponse({"status": "inbox unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route(WEBHOOK_PATH, receive_callback, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )


def serve_receiver(
    host: str,
    port: int,
    inbox_path: str | PathLike[str],
    shared_secret: str,
    *,
    secret_header: str = DEFAULT_SECRET_HEADER,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
) -> None:
    """Run the receiver in the foreground until interrupted.

    BigCommerce only delivers to https on port 443: terminate TLS here (`ssl_certfile`/`ssl_keyfile`) or in a
    reverse proxy in front of a loopback-bound receiver.
    """
    app = create_receiver_app(inbox_path, shared_secret, secret_header)
    if ssl_certfile is None and not is_loopback(host):
        logger.warning(
            "webhook receiver listens on %s without TLS: the shared secret crosses the network in clear "
            "unless a TLS-terminating proxy sits in front",
            host,
        )
    uvicorn.run(app, host=host, port=port, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, log_level="info")


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown client"


