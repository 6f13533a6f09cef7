"""The control API under /_sandbox/: state, suppressions, faults, stats, clock, account features, program status.

Never authenticated, faulted, rate limited or counted: it observes and steers the account, it is not the API.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

CONTROL_PREFIX = "/_sandbox/"


async def _object(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError:
        body = None
    return body if isinstance(body, dict) else {}


def _bad(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def state(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.sandbox.state())


async def suppress(request: Request) -> JSONResponse:
    body = await _object(request)
    if not isinstance(body.get("email"), str):
        return _bad("email is required")
    try:
        request.app.state.sandbox.suppress(body["email"], body.get("reason") or "Unsubscribed")
    except ValueError as problem:
        return _bad(str(problem))
    return JSONResponse({"suppressed": body["email"]})


async def set_fault(request: Request) -> JSONResponse:
    body = await _object(request)
    try:
        request.app.state.sandbox.set_fault(str(body.get("kind")), float(body.get("rate", 1.0)), body.get("count"))
    except (TypeError, ValueError) as problem:
        return _bad(str(problem))
    return JSONResponse({"kind": body.get("kind"), "rate": body.get("rate", 1.0), "count": body.get("count")})


async def clear_faults(request: Request) -> Response:
    request.app.state.sandbox.clear_faults()
    return Response(status_code=204)


async def stats(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.sandbox.stats())


async def advance_clock(request: Request) -> JSONResponse:
    body = await _object(request)
    try:
        now = request.app.state.sandbox.clock.advance(float(body.get("advance_seconds", 0)))
    except (TypeError, ValueError) as problem:
        return _bad(str(problem))
    return JSONResponse({"now": now.isoformat()})


async def set_features(request: Request) -> JSONResponse:
    body = await _object(request)
    flags = {name: body[name] for name in ("insight", "account_insight") if name in body}
    if any(not isinstance(value, bool) for value in flags.values()):
        return _bad("insight and account_insight take true or false")
    features = request.app.state.sandbox.set_feature(**flags)
    return JSONResponse({"insight": features.insight, "account_insight": features.account_insight})


async def set_program_status(request: Request) -> JSONResponse:
    body = await _object(request)
    try:
        request.app.state.sandbox.set_program_status(int(body.get("id")), str(body.get("status")))
    except (TypeError, ValueError) as problem:
        return _bad(str(problem))
    return JSONResponse({"id": body["id"], "status": body["status"]})


ROUTES = [
    Route("/_sandbox/state", state, methods=["GET"]),
    Route("/_sandbox/suppress", suppress, methods=["POST"]),
    Route("/_sandbox/faults", set_fault, methods=["POST"]),
    Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
    Route("/_sandbox/stats", stats, methods=["GET"]),
    Route("/_sandbox/clock", advance_clock, methods=["POST"]),
    Route("/_sandbox/features", set_features, methods=["POST"]),
    Route("/_sandbox/programs", set_program_status, methods=["POST"]),
]
