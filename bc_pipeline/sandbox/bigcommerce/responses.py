"""Building API responses, with the body faults (malformed JSON, wrong totals, rows changed mid-scan) applied."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def sandbox_of(request: Request):
    return request.app.state.sandbox


def api_json(request: Request, body, status: int = 200) -> Response:
    sandbox = sandbox_of(request)
    if status == 200 and sandbox.faults.fires("malformed_json"):
        text = json.dumps(body)
        return Response(text[: max(1, len(text) // 2)], status_code=200, media_type="application/json")
    return JSONResponse(body, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)


def list_meta(request: Request, pagination: dict) -> dict:
    """v3 `meta.pagination`; the wrong_totals fault claims the current page is the last one."""
    if sandbox_of(request).faults.fires("wrong_totals"):
        pagination = {**pagination, "total": pagination["count"], "total_pages": pagination["current_page"]}
        pagination["links"] = {key: value for key, value in pagination["links"].items() if key != "next"}
    return pagination


def after_page_served(request: Request, kind: str, page_rows: list) -> None:
    """The mutate_during_scan fault: once a page is out, its first row is modified "now".

    A client paging by offset over `date_modified` then sees every later row shift up by one slot and skips the
    row at the next page boundary; keyset paging (id windows, cursors) loses nothing.
    """
    sandbox = sandbox_of(request)
    if page_rows and sandbox.faults.fires("mutate_during_scan"):
        sandbox.store.touch(kind, page_rows[0])
