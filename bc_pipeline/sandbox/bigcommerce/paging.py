"""Reading page/limit/filter parameters and building v3 pagination meta."""

from __future__ import annotations

import base64
import json
import math
from urllib.parse import urlencode

from .errors import ApiError
from .formats import is_date_only, parse_filter_date

MAX_LIMIT = 250
DEFAULT_LIMIT = 50


def int_param(params, name: str, default: int | None = None) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(float(raw))
    except ValueError as error:
        raise ApiError(422, f"Invalid value for {name}: {raw}") from error


def int_list(params, name: str) -> set[int] | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return {int(value) for value in raw.split(",") if value.strip()}
    except ValueError as error:
        raise ApiError(422, f"Invalid value for {name}: {raw}") from error


def text_list(params, name: str) -> set[str] | None:
    raw = params.get(name)
    return None if raw is None else {value.strip().lower() for value in raw.split(",") if value.strip()}


def date_param(params, name: str, time_of_day: int | None = None) -> int | None:
    """A date filter in epoch seconds; `time_of_day` (seconds) is appended to date-only values when given."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = parse_filter_date(raw)
    except (ValueError, TypeError, IndexError) as error:
        raise ApiError(422, f"Invalid date for {name}: {raw}") from error
    if time_of_day is not None and is_date_only(raw):
        value += time_of_day
    return value


def page_and_limit(params, max_limit_error: bool = False) -> tuple[int, int]:
    page = max(1, int_param(params, "page", 1))
    limit = int_param(params, "limit", DEFAULT_LIMIT)
    if limit > MAX_LIMIT:
        if max_limit_error:
            raise ApiError(413, details={"max_limit": MAX_LIMIT})
        limit = MAX_LIMIT
    return page, max(1, limit)


def link(params, **position) -> str:
    """A relative link that keeps the request's filters and sort, moved to another page or cursor."""
    kept = [(key, value) for key, value in params.multi_items() if key not in ("page", "limit", "after", "before")]
    return "?" + urlencode([*position.items(), *kept], safe=":,")


def v3_pagination(params, total: int, count: int, page: int, limit: int) -> dict:
    total_pages = math.ceil(total / limit) if total else 0
    links = {"current": link(params, page=page, limit=limit)}
    if page > 1:
        links["previous"] = link(params, page=page - 1, limit=limit)
    if page < total_pages:
        links["next"] = link(params, page=page + 1, limit=limit)
    return {"total": total, "count": count, "per_page": limit, "current_page": page, "total_pages": total_pages,
            "links": links}


def encode_cursor(key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str):
    try:
        return tuple(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))))
    except (ValueError, TypeError) as error:
        raise ApiError(422, f"Invalid cursor: {cursor}") from error
