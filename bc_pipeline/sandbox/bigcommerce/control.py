"""The control API under /_sandbox/: export, stats, faults, fixtures, activity and the clock."""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from .export import EXPORT_KINDS, export_records


def _sandbox(request: Request):
    return request.app.state.sandbox


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as error:
        raise HTTPException(400, f"body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise HTTPException(400, "body must be a JSON object")
    return body


def _bad_request(message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=400)


async def export(request: Request):
    kind = request.path_params["kind"]
    if kind not in EXPORT_KINDS:
        return JSONResponse({"error": f"kind must be one of {', '.join(EXPORT_KINDS)}"}, status_code=404)
    base_url = str(request.base_url).rstrip("/")
    records = export_records(_sandbox(request).store, kind, base_url)
    lines = (json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    return StreamingResponse(lines, media_type="application/x-ndjson")


async def stats(request: Request):
    return JSONResponse(_sandbox(request).stats())


async def set_fault(request: Request):
    body = await _json_body(request)
    try:
        _sandbox(request).set_fault(body["kind"], float(body.get("rate", 1.0)), body.get("count"))
    except (KeyError, ValueError, TypeError) as error:
        return _bad_request(f"expected {{kind, rate, count}}: {error}")
    return JSONResponse({"kind": body["kind"], "rate": float(body.get("rate", 1.0)), "count": body.get("count")})


async def clear_faults(request: Request):
    _sandbox(request).clear_faults()
    return JSONResponse({"cleared": True})


async def load(request: Request):
    try:
        loaded = _sandbox(request).load(await _json_body(request))
    except (ValueError, TypeError, KeyError) as error:
        return _bad_request(str(error))
    return JSONResponse({"loaded": loaded})


async def activity(request: Request):
    body = await _json_body(request)
    try:
        changes = int(body.get("changes", 1))
    except (TypeError, ValueError):
        return _bad_request("changes must be an integer")
    return JSONResponse({"changes": _sandbox(request).activity(changes)})


async def clock(request: Request):
    body = await _json_body(request)
    try:
        now = _sandbox(request).clock.advance(float(body.get("advance_seconds", 0)))
    except (TypeError, ValueError) as error:
        return _bad_request(str(error))
    return JSONResponse({"now": now.isoformat()})


async def reset(request: Request):
    _sandbox(request).reset()
    return JSONResponse({"reset": True})


ROUTES = [
    Route("/export/{kind}", export, methods=["GET"]),
    Route("/stats", stats, methods=["GET"]),
    Route("/faults", set_fault, methods=["POST"]),
    Route("/faults", clear_faults, methods=["DELETE"]),
    Route("/load", load, methods=["POST"]),
    Route("/activity", activity, methods=["POST"]),
    Route("/clock", clock, methods=["POST"]),
    Route("/reset", reset, methods=["POST"]),
]
