"""What BigCommerce's API gateway does before and around every API call.

Latency, the store hash and token (401), the quota and its headers (429), faults that replace the response (5xx,
429 without headers, hangs, resets) and token scopes (403). The control API under /_sandbox/ passes straight
through: it is not the store's API, so it neither spends quota nor suffers faults.
"""

from __future__ import annotations

import asyncio
import re
from email.utils import format_datetime

from starlette.datastructures import Headers, MutableHeaders

from .errors import error_response

API_PATH = re.compile(r"^/stores/(?P<hash>[^/]+)/(?P<version>v2|v3)(?P<rest>/.*)?$")
ID_SEGMENT = re.compile(r"/(\d+|[0-9a-f]{8}-[0-9a-f-]{27}|[A-Za-z0-9_-]{20,})(?=/|$)")
SCOPES_BY_PREFIX = (
    ("/v3/hooks", None),
    ("/v3/customers", "store_v2_customers"),
    ("/v2/customers", "store_v2_customers"),
    ("/v2/orders", "store_v2_orders"),
    ("/v2/order_statuses", "store_v2_orders"),
    ("/v3/catalog", "store_v2_products"),
    ("/v3/carts", "store_cart"),
    ("/v3/abandoned-carts", "store_v2_information"),
    ("/v2/store", "store_v2_information"),
    ("/v2/time", "store_v2_information"),
)
HANG_SECONDS = 60
SERVER_ERRORS = {"http_500": 500, "http_502": 502, "http_503": 503, "http_504": 504}
REPLACING_FAULTS = (*SERVER_ERRORS, "rate_limit_no_headers", "hang", "reset")


def required_scope(version_path: str) -> str | None:
    return next((scope for prefix, scope in SCOPES_BY_PREFIX if version_path.startswith(prefix)), None)


def route_name(method: str, version_path: str) -> str:
    return f"{method} {ID_SEGMENT.sub('/{id}', version_path)}"


class ApiGateway:
    def __init__(self, app, sandbox):
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope, receive, send):
        match = API_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            return await self.app(scope, receive, send)
        version_path = f"/{match['version']}{match['rest'] or '/'}"
        status_seen: dict[str, int] = {}

        async def send_with_status(message):
            if message["type"] == "http.response.start":
                status_seen["status"] = message["status"]
                # The store's clock, as BigCommerce's Date header is; clients may take their windows' end from it.
                MutableHeaders(scope=message)["date"] = format_datetime(self.sandbox.clock.now(), usegmt=True)
            await send(message)

        try:
            return await self._serve(scope, receive, send_with_status, send, match["hash"], version_path)
        finally:
            self.sandbox.request_stats.record(route_name(scope["method"], version_path), status_seen.get("status"))

    async def _serve(self, scope, receive, send, raw_send, store_hash: str, version_path: str):
        config = self.sandbox.config
        version = version_path[1:3]
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000)
        self.sandbox.store.base_url = _base_url(scope)
        token = Headers(scope=scope).get("x-auth-token")
        if token != config.access_token:
            return await error_response(version, 401)(scope, receive, send)
        if store_hash != config.store_hash:
            # A token used on another store's path is a permission problem to BigCommerce, not a credential one.
            return await error_response(version, 403)(scope, receive, send)
        quota = self.sandbox.quota.take()
        if not quota.allowed:
            return await error_response(version, 429, headers=quota.headers())(scope, receive, send)
        missing_scope = _missing_scope(config.token_scopes, version_path)
        if missing_scope:
            response = error_response(version, 403, f"This token lacks the scope {missing_scope}",
                                      headers=quota.headers())
            return await response(scope, receive, send)
        fault = self.sandbox.faults.first_firing(REPLACING_FAULTS)
        if fault is not None:
            return await self._serve_fault(fault, scope, receive, send, raw_send, version, quota)
        return await self.app(scope, receive, _with_headers(send, quota.headers()))

    async def _serve_fault(self, fault, scope, receive, send, raw_send, version, quota):
        if fault in SERVER_ERRORS:
            return await error_response(version, SERVER_ERRORS[fault], headers=quota.headers())(scope, receive, send)
        if fault == "rate_limit_no_headers":
            return await error_response(version, 429)(scope, receive, send)
        if fault == "hang":
            await asyncio.sleep(HANG_SECONDS)
            return await error_response(version, 504, headers=quota.headers())(scope, receive, send)
        return await _reset(raw_send)


def _missing_scope(token_scopes, version_path: str) -> str | None:
    """The read-only scope the endpoint needs and the token lacks (its full-access variant also serves)."""
    needed = required_scope(version_path)
    if needed is None or token_scopes is None or {needed, f"{needed}_read_only"} & set(token_scopes):
        return None
    return f"{needed}_read_only"


async def _reset(send):
    """Drop the connection before any byte of a response, as a reset between proxies looks to a client."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        # Without the transport, a non-None result makes uvicorn close the connection unanswered.
        return "reset"
    transport.abort()
    # Let the server notice the lost connection so it does not try to answer it.
    await asyncio.sleep(0.01)
    return None


def _with_headers(send, headers: dict[str, str]):
    async def send_with_headers(message):
        if message["type"] == "http.response.start":
            mutable = MutableHeaders(scope=message)
            for name, value in headers.items():
                mutable[name] = value
        await send(message)

    return send_with_headers


def _base_url(scope) -> str:
    host = Headers(scope=scope).get("host")
    if host:
        return f"{scope.get('scheme', 'http')}://{host}"
    server = scope.get("server") or ("127.0.0.1", 80)
    return f"{scope.get('scheme', 'http')}://{server[0]}:{server[1]}"
