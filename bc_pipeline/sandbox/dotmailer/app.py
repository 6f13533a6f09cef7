"""The Starlette application: every route, the gateway in front of them, and API errors turned into bodies."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse

from bc_pipeline.sandbox.dotmailer import (
    account_routes,
    address_book_routes,
    contact_routes,
    control_routes,
    data_field_routes,
    insight_routes,
    program_routes,
)
from bc_pipeline.sandbox.dotmailer.errors import ApiError, error_response
from bc_pipeline.sandbox.dotmailer.gateway import ApiGateway


async def _api_error(request: Request, error: ApiError) -> JSONResponse:
    return error_response(request.url.path, error)


def build_app(sandbox) -> Starlette:
    routes = (
        control_routes.ROUTES
        + account_routes.ROUTES
        + address_book_routes.ROUTES
        + data_field_routes.ROUTES
        + contact_routes.ROUTES
        + program_routes.ROUTES
        + insight_routes.ROUTES
    )
    app = Starlette(
        routes=routes,
        middleware=[Middleware(ApiGateway)],
        exception_handlers={ApiError: _api_error},
    )
    app.state.sandbox = sandbox
    return app
