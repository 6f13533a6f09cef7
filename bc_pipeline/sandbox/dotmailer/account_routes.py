"""`GET /v2/account-info`: the account, and the API endpoint its region answers on (here: the sandbox itself)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

ACCOUNT_ID = 400123


async def account_info(request: Request) -> JSONResponse:
    sandbox = request.app.state.sandbox
    # a sandbox rarely lives an hour: its calls so far stand in for the last hour's
    calls_last_hour = sandbox.stats()["total_requests"]
    properties = [
        ("Name", "String", "Sandbox store"),
        ("MainEmail", "String", sandbox.config.api_user),
        ("ApiEndpoint", "String", str(request.base_url)),
        ("ApiCallsInLastHour", "Int32", str(calls_last_hour)),
        ("ApiCallsRemaining", "Int32", str(max(0, 2000 - calls_last_hour))),
    ]
    return JSONResponse(
        {"id": ACCOUNT_ID, "properties": [{"name": n, "type": t, "value": v} for n, t, v in properties]}
    )


ROUTES = [Route("/v2/account-info", account_info, methods=["GET"])]
