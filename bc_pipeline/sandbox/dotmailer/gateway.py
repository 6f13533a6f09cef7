"""What stands in front of every API call, in the real order: credentials, request size, the per-minute tier,
then injected faults; and the request counts behind `/_sandbox/stats`."""

from __future__ import annotations

import base64
import binascii
import secrets

from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from bc_pipeline.sandbox.dotmailer.control_routes import CONTROL_PREFIX
from bc_pipeline.sandbox.dotmailer.errors import error_response, plain_error, too_large

DENIED = "Authorization has been denied for this request."


def _credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.casefold() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def route_name(request: Request) -> str:
    """The route's template (e.g. `GET /contacts/v3/import/{importId}`), so stats group calls as the API does."""
    partial = None
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match == Match.FULL:
            return f"{request.method} {route.path}"
        if match == Match.PARTIAL and partial is None:
            partial = f"{request.method} {route.path}"
    return partial or f"{request.method} (no route)"


class ApiGateway(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        path = request.url.path
        if path.startswith(CONTROL_PREFIX):
            return await call_next(request)
        response = self._refusal(request) or await call_next(request)
        request.app.state.sandbox.request_stats.record(route_name(request), response.status_code)
        return response

    def _refusal(self, request: Request) -> Response | None:
        sandbox = request.app.state.sandbox
        path = request.url.path
        given = _credentials(request)
        expected = (sandbox.config.api_user, sandbox.config.api_password)
        if given is None or not all(secrets.compare_digest(a.encode(), b.encode()) for a, b in zip(given, expected)):
            return plain_error(path, 401, DENIED, "unauthorized", {"WWW-Authenticate": 'Basic realm="dotdigital"'})
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > sandbox.config.max_request_bytes:
            return error_response(path, too_large(path))
        wait_s = sandbox.quota.admit()
        if wait_s is not None:
            return plain_error(path, 429, "Too many requests.", "tooManyRequests", sandbox.quota.headers(wait_s))
        if sandbox.faults.fires("rate_limit"):
            return plain_error(path, 429, "Too many requests.", "tooManyRequests", sandbox.quota.headers(60))
        if sandbox.faults.fires("http_500"):
            return plain_error(path, 500, "An error has occurred.", "internalServerError")
        return None
