"""The Starlette application: API routes under /stores/{store_hash}/v2|v3, control routes under /_sandbox."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import Mount

from . import api_v2, api_v3, control, webhooks
from .errors import ApiError, error_response
from .gateway import ApiGateway


def _version(request: Request) -> str:
    return "v2" if "/v2/" in request.url.path else "v3"


async def _api_error(request: Request, error: ApiError):
    return error_response(_version(request), error.status, error.message, error.details)


async def _http_error(request: Request, error: HTTPException):
    return error_response(_version(request), error.status_code, None if error.status_code == 404 else error.detail)


def build_app(sandbox) -> ApiGateway:
    """The ASGI app to serve: Starlette routing wrapped in the API gateway.

    The gateway sits outside Starlette because a connection reset needs the server's own `send`.
    """
    app = Starlette(
        routes=[
            Mount("/stores/{store_hash}/v3", routes=api_v3.ROUTES + webhooks.ROUTES),
            Mount("/stores/{store_hash}/v2", routes=api_v2.ROUTES),
            Mount("/_sandbox", routes=control.ROUTES),
        ],
        exception_handlers={ApiError: _api_error, HTTPException: _http_error},
    )
    app.state.sandbox = sandbox
    return ApiGateway(app, sandbox)
