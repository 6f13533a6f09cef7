"""v3 endpoints: customers, subscribers, catalog products, carts and abandoned carts."""

from __future__ import annotations

from starlette.requests import Request
from starlette.routing import Route

from . import objects, queries
from .errors import ApiError
from .paging import decode_cursor, encode_cursor, link, page_and_limit, v3_pagination
from .responses import after_page_served, api_json, list_meta, sandbox_of


def _includes(request: Request) -> frozenset[str]:
    return frozenset(part.strip() for part in request.query_params.get("include", "").split(",") if part.strip())


def _select(table, predicate, key, reverse) -> list:
    rows = [row for row in table.ascending() if predicate(row)]
    if key is queries.by_id:
        # Ids are unique, so sorting the table's id order by id could only reverse it.
        if reverse:
            rows.reverse()
    elif key is not None:
        rows.sort(key=key, reverse=reverse)
    return rows


def _offset_page(request: Request, rows: list, render, kind: str) -> dict:
    page, limit = page_and_limit(request.query_params)
    page_rows = rows[(page - 1) * limit: page * limit]
    pagination = v3_pagination(request.query_params, len(rows), len(page_rows), page, limit)
    body = {"data": [render(row) for row in page_rows], "meta": {"pagination": list_meta(request, pagination)}}
    after_page_served(request, kind, page_rows)
    return body


def _cursor_window(rows: list, key, reverse: bool, params, limit: int) -> tuple[list, bool, bool]:
    """Rows after/before a cursor (the sort key of a row); returns (window, has_previous, has_next).

    A cursor is a position in the sort order, not an offset, so rows changing elsewhere do not shift it.
    """
    def first_index_past(cursor, inclusive: bool) -> int:
        for index, row in enumerate(rows):
            row_key = key(row)
            if (row_key < cursor if reverse else row_key > cursor) or (inclusive and row_key == cursor):
                return index
        return len(rows)

    if params.get("after"):
        start = first_index_past(decode_cursor(params["after"]), inclusive=False)
        return rows[start:start + limit], start > 0, start + limit < len(rows)
    end = first_index_past(decode_cursor(params["before"]), inclusive=True)
    start = max(0, end - limit)
    return rows[start:end], start > 0, end < len(rows)


async def list_customers(request: Request):
    sandbox = sandbox_of(request)
    params = request.query_params
    includes = _includes(request)
    predicate = queries.customer_filter(params)
    key, reverse = queries.customer_sort(params)
    store = sandbox.store
    with store.lock:
        rows = _select(store.customers, predicate, key, reverse)
        body = _customer_page(request, rows, key, reverse, includes)
    return api_json(request, body)


def _customer_page(request: Request, rows: list, key, reverse: bool, includes) -> dict:
    store = sandbox_of(request).store
    params = request.query_params
    page, limit = page_and_limit(params)
    if params.get("after") or params.get("before"):
        window, has_previous, has_next = _cursor_window(rows, key, reverse, params, limit)
        body = {"data": [objects.customer_v3(store, row, includes) for row in window],
                "meta": {"cursor_pagination": _cursor_meta(params, window, key, limit, has_previous, has_next)}}
        after_page_served(request, "customer", window)
        return body
    body = _offset_page(request, rows, lambda row: objects.customer_v3(store, row, includes), "customer")
    if page == 1:
        window = rows[:limit]
        body["meta"]["cursor_pagination"] = _cursor_meta(params, window, key, limit, False, len(rows) > limit)
    return body


def _cursor_meta(params, window: list, key, limit: int, has_previous: bool, has_next: bool) -> dict:
    meta = {"count": len(window), "per_page": limit, "links": {}}
    if window:
        meta["start_cursor"] = encode_cursor(list(key(window[0])))
        meta["end_cursor"] = encode_cursor(list(key(window[-1])))
        if has_previous:
            meta["links"]["previous"] = link(params, before=meta["start_cursor"], limit=limit)
        if has_next:
            meta["links"]["next"] = link(params, after=meta["end_cursor"], limit=limit)
    return meta


async def list_subscribers(request: Request):
    store = sandbox_of(request).store
    predicate = queries.subscriber_filter(request.query_params)
    with store.lock:
        rows = _select(store.subscribers, predicate, None, False)
        body = _offset_page(request, rows, objects.subscriber_v3, "subscriber")
    return api_json(request, body)


async def get_subscriber(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        row = store.subscribers.get(_path_int(request, "subscriber_id"))
        if row is None:
            raise ApiError(404, "Subscriber not found")
        return api_json(request, {"data": objects.subscriber_v3(row), "meta": {}})


async def list_products(request: Request):
    store = sandbox_of(request).store
    now = store.clock.now()
    time_of_day = now.hour * 3600 + now.minute * 60 + now.second
    predicate = queries.product_filter(request.query_params, time_of_day)
    key, reverse = queries.product_sort(request.query_params)
    includes = _includes(request)
    shown = _field_selection(request.query_params)
    with store.lock:
        rows = _select(store.products, predicate, key, reverse)
        body = _offset_page(request, rows, lambda row: shown(objects.product_v3(store, row, includes)), "product")
    return api_json(request, body)


def _field_selection(params):
    """`include_fields` / `exclude_fields`: `id` and included sub-resources always stay, as in the catalog API."""
    wanted = {field.strip() for field in params.get("include_fields", "").split(",") if field.strip()}
    unwanted = {field.strip() for field in params.get("exclude_fields", "").split(",") if field.strip()} - {"id"}
    kept_always = {"id", *objects.PRODUCT_INCLUDES}

    def select(product: dict) -> dict:
        return {key: value for key, value in product.items()
                if (not wanted or key in wanted or key in kept_always) and key not in unwanted}

    return select


async def get_product(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        row = store.products.get(_path_int(request, "product_id"))
        if row is None:
            raise ApiError(404, "The requested product was not found.")
        return api_json(request, {"data": objects.product_v3(store, row, _includes(request)), "meta": {}})


async def get_cart(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        cart = store.carts.get(request.path_params["cart_id"])
        if cart is None:
            raise ApiError(404, "Cart not found")
        return api_json(request, {"data": objects.cart_v3(store, cart), "meta": {}})


async def get_abandoned_cart(request: Request):
    cart = sandbox_of(request).store.cart_by_token(request.path_params["token"])
    if cart is None:
        raise ApiError(404, "Abandoned cart not found")
    return api_json(request, {"data": {"cart_id": cart.id}, "meta": {}})


def _path_int(request: Request, name: str) -> int:
    try:
        return int(request.path_params[name])
    except ValueError as error:
        raise ApiError(404) from error


ROUTES = [
    Route("/customers", list_customers, methods=["GET"]),
    Route("/customers/subscribers", list_subscribers, methods=["GET"]),
    Route("/customers/subscribers/{subscriber_id}", get_subscriber, methods=["GET"]),
    Route("/catalog/products", list_products, methods=["GET"]),
    Route("/catalog/products/{product_id}", get_product, methods=["GET"]),
    Route("/carts/{cart_id}", get_cart, methods=["GET"]),
    Route("/abandoned-carts/{token}", get_abandoned_cart, methods=["GET"]),
]
