"""Building API responses, with the body faults (malformed JSON, wrong totals, rows changed mid-scan) applied."""

from __future__ import annotations

from typing import Iterable

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def _encode(content) -> bytes:
    # The sandbox shares the benchmark's cores with the pipeline it serves, and renders a page of orders under the
    # store's lock: the standard library's encoder took a third of that page's time (33 ms, orjson 5 ms).
    # Keys that are not strings are written as strings, as the standard library's encoder writes them.
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class EncodedArray(list):
    """A JSON array (a v2 page) whose records were each encoded to UTF-8 as soon as they were rendered.

    A page kept whole as objects until the response is built lives long enough for the garbage collector to promote
    it and then rescan the whole store every few pages; encoded records are bytes, which it ignores. A record that
    does not encode stays an object, so that the response fails where a page encoded whole failed.
    """

    def render(self) -> bytes:
        return b"[" + b",".join([item if isinstance(item, bytes) else _encode(item) for item in self]) + b"]"


def encoded_array(records: Iterable) -> EncodedArray:
    array = EncodedArray()
    for record in records:
        try:
            array.append(_encode(record))
        except TypeError:
            array.append(record)
    return array


class ApiJSONResponse(JSONResponse):
    """The bytes Starlette's JSONResponse sends, with arrays of records already encoded."""

    def render(self, content) -> bytes:
        return content.render() if isinstance(content, EncodedArray) else _encode(content)


def sandbox_of(request: Request):
    return request.app.state.sandbox


def api_json(request: Request, body, status: int = 200) -> Response:
    sandbox = sandbox_of(request)
    if status == 200 and sandbox.faults.fires("malformed_json"):
        text = ApiJSONResponse(body).body.decode()
        return Response(text[: max(1, len(text) // 2)], status_code=200, media_type="application/json")
    return ApiJSONResponse(body, status_code=status)


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
