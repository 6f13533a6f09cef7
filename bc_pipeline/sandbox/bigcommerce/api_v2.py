"""v2 endpoints: orders and their parts, order statuses, customers, store information and time.

v2 lists are bare arrays; a page past the end is 204 with an empty body, as the live API answers.
"""

from __future__ import annotations

from collections import Counter
from itertools import islice

from starlette.requests import Request
from starlette.routing import Route

from . import objects, queries
from .errors import ApiError
from .order_statuses import order_status, order_statuses
from .paging import int_param, page_and_limit
from .responses import after_page_served, api_json, encoded_array, no_content, sandbox_of


def _order_rows(store, params) -> list:
    predicate = queries.order_filter(params, lambda row: objects.order_email(store, row))
    key, reverse = queries.order_sort(params)
    page, limit = page_and_limit(params, max_limit_error=True)
    offset = (page - 1) * limit
    if key is None and reverse:
        candidates = store.orders.descending(int_param(params, "max_id"))
        return list(islice((row for row in candidates if predicate(row)), offset, offset + limit))
    candidates = store.orders.ascending(int_param(params, "min_id"))
    if key is None:
        return list(islice((row for row in candidates if predicate(row)), offset, offset + limit))
    rows = [row for row in candidates if predicate(row)]
    rows.sort(key=key, reverse=reverse)
    return rows[offset:offset + limit]


def _render_order(request: Request, row) -> dict:
    """The order, with consignments inlined as `include=consignments[.line_items]` asks."""
    store = sandbox_of(request).store
    includes = {part.strip() for part in request.query_params.get("include", "").split(",")}
    if "consignments.line_items" in includes:
        line_items = objects.order_line_items(store, row)
        return objects.order_v2(store, row, store.base_url, line_items, line_items=line_items)
    if "consignments" in includes:
        return objects.order_v2(store, row, store.base_url, objects.line_item_links(store, row, store.base_url))
    return objects.order_v2(store, row, store.base_url)


async def list_orders(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        rows = _order_rows(store, request.query_params)
        body = encoded_array(_render_order(request, row) for row in rows)
    if not rows:
        return no_content()
    after_page_served(request, "order", rows)
    return api_json(request, body)


async def count_orders(request: Request):
    store = sandbox_of(request).store
    predicate = queries.order_filter(request.query_params, lambda row: objects.order_email(store, row))
    with store.lock:
        counts = Counter(row.status_id for row in store.orders.ascending() if predicate(row))
    statuses = [{**status, "count": counts.get(status["id"], 0), "sort_order": status["id"]}
                for status in order_statuses()]
    return api_json(request, {"statuses": statuses, "count": sum(counts.values())})


def _order(request: Request):
    try:
        row = sandbox_of(request).store.orders.get(int(request.path_params["order_id"]))
    except ValueError:
        row = None
    if row is None:
        raise ApiError(404)
    return row


async def get_order(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        return api_json(request, _render_order(request, _order(request)))


def _paged_list(request: Request, items: list):
    page, limit = page_and_limit(request.query_params, max_limit_error=True)
    window = items[(page - 1) * limit: page * limit]
    return api_json(request, window) if window else no_content()


async def order_products(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        return _paged_list(request, objects.order_line_items(store, _order(request)))


async def order_shipping_addresses(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        return _paged_list(request, objects.order_shipping_addresses(store, _order(request), store.base_url))


async def order_coupons(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        return _paged_list(request, objects.order_coupons(store, _order(request)))


async def list_order_statuses(request: Request):
    return api_json(request, order_statuses())


async def get_order_status(request: Request):
    status = order_status(int(request.path_params["status_id"])) if request.path_params["status_id"].isdigit() else None
    if status is None:
        raise ApiError(404)
    return api_json(request, status)


async def list_customers(request: Request):
    store = sandbox_of(request).store
    predicate = queries.v2_customer_filter(request.query_params)
    page, limit = page_and_limit(request.query_params, max_limit_error=True)
    with store.lock:
        candidates = store.customers.ascending(int_param(request.query_params, "min_id"))
        matching = (row for row in candidates if predicate(row))
        rows = list(islice(matching, (page - 1) * limit, page * limit))
        body = encoded_array(objects.customer_v2(store, row) for row in rows)
    return api_json(request, body) if body else no_content()


async def get_customer(request: Request):
    store = sandbox_of(request).store
    with store.lock:
        row = store.customers.get(int(request.path_params["customer_id"]))
        if row is None:
            raise ApiError(404)
        return api_json(request, objects.customer_v2(store, row))


async def count_customers(request: Request):
    store = sandbox_of(request).store
    predicate = queries.v2_customer_filter(request.query_params)
    with store.lock:
        return api_json(request, {"count": sum(1 for row in store.customers.ascending() if predicate(row))})


async def store_information(request: Request):
    sandbox = sandbox_of(request)
    return api_json(request, objects.store_information(sandbox.config, sandbox.hooks.store_id))


async def store_time(request: Request):
    return api_json(request, {"time": sandbox_of(request).store.now()})


ROUTES = [
    Route("/orders", list_orders, methods=["GET"]),
    Route("/orders/count", count_orders, methods=["GET"]),
    Route("/orders/{order_id}", get_order, methods=["GET"]),
    Route("/orders/{order_id}/products", order_products, methods=["GET"]),
    Route("/orders/{order_id}/shipping_addresses", order_shipping_addresses, methods=["GET"]),
    Route("/orders/{order_id}/coupons", order_coupons, methods=["GET"]),
    Route("/order_statuses", list_order_statuses, methods=["GET"]),
    Route("/order_statuses/{status_id}", get_order_status, methods=["GET"]),
    Route("/customers", list_customers, methods=["GET"]),
    Route("/customers/count", count_customers, methods=["GET"]),
    Route("/customers/{customer_id:int}", get_customer, methods=["GET"]),
    Route("/store", store_information, methods=["GET"]),
    Route("/time", store_time, methods=["GET"]),
]
