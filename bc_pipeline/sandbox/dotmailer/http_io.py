"""Reading requests the way the real API binds them: JSON bodies, case-insensitive v2 keys, select/skip paging."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from bc_pipeline.sandbox.dotmailer.errors import is_v3_path, too_large, v2_error, v3_code, v3_error

MAX_SELECT = 1000


async def json_body(request: Request) -> Any:
    raw = await request.body()
    # the gateway refuses by Content-Length; a chunked body is only measured once read
    if len(raw) > request.app.state.sandbox.config.max_request_bytes:
        raise too_large(request.url.path)
    try:
        # Import bodies run to megabytes: the standard library took 0.4 s over a 5.6 MB body of 6,000 orders.
        return orjson.loads(raw) if raw else None
    except ValueError:
        if is_v3_path(request.url.path):
            raise v3_error(400, v3_code(request.url.path, "badJson"), "The request JSON is badly formed") from None
        raise v2_error(400, "ERROR_BODY_INVALID", "The request body is not valid JSON.") from None


def lower_keys(body: Any) -> dict:
    """v2 binds property names case-insensitively (M2 sends PascalCase, the SDK camelCase)."""
    if not isinstance(body, dict):
        raise v2_error(400, "ERROR_BODY_INVALID", "The request body must be a JSON object.")
    return {str(key).casefold(): value for key, value in body.items()}


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise v2_error(400, "ERROR_PARAMETER_INVALID") from None


def page(request: Request, items: list) -> list:
    select = _int_param(request, "select", MAX_SELECT)
    skip = _int_param(request, "skip", 0)
    if not 1 <= select <= MAX_SELECT or skip < 0:
        raise v2_error(400, "ERROR_PARAMETER_INVALID")
    return items[skip : skip + select]


def bool_param(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").casefold() == "true"
