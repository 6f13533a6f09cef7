"""The HTTP client for the BigCommerce v2 and v3 REST APIs of one store.

It owns authentication, timeouts, connection pooling, pacing on the store's quota and retries.
It never logs or raises with the token or the request headers: errors name the method and path.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from bc_pipeline.bigcommerce.lazy_json import NotJson, read_json
from bc_pipeline.bigcommerce.pacing import RatePacer
from bc_pipeline.connection_marker import ensure_connected
from bc_pipeline.loopback import is_loopback

logger = logging.getLogger(__name__)

MAX_PAGE_SIZE = 250

NOTHING_LOST = "Nothing was lost: the stream's watermark did not move and the next run resumes from the last committed page."

# Read-only OAuth scopes by API path prefix (longest prefix first), as named in the API account screen.
SCOPES_BY_PATH: tuple[tuple[str, str], ...] = (
    ("/v3/customers/subscribers", "store_v2_customers_read_only (Customers: read-only)"),
    ("/v3/customers", "store_v2_customers_read_only (Customers: read-only)"),
    ("/v2/customers", "store_v2_customers_read_only (Customers: read-only)"),
    ("/v3/orders/", "store_v2_transactions_read_only (Order transactions: read-only)"),
    ("/v2/orders", "store_v2_orders_read_only (Orders: read-only)"),
    ("/v2/order_statuses", "store_v2_orders_read_only (Orders: read-only)"),
    ("/v3/catalog", "store_v2_products_read_only (Products: read-only)"),
    ("/v3/carts", "store_cart_read_only (Carts: read-only)"),
    ("/v3/abandoned-carts", "store_v2_information_read_only (Information & settings: read-only)"),
    ("/v2/store", "store_v2_information_read_only (Information & settings: read-only)"),
    ("/v2/time", "store_v2_information_read_only (Information & settings: read-only)"),
)

RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


class BigCommerceError(RuntimeError):
    """A request to BigCommerce failed in a way this run cannot recover from."""


class AuthenticationFailed(BigCommerceError):
    """401: the access token is wrong or revoked."""


class ScopeMissing(BigCommerceError):
    """403: the API account lacks the scope the endpoint needs (or the store hash is wrong)."""


class RequestRejected(BigCommerceError):
    """A 4xx other than 401/403/429: a parameter BigCommerce would not accept."""


class RetriesExhausted(BigCommerceError):
    """5xx, resets, timeouts, malformed bodies or 429s continued past the retry cap."""


@dataclass(frozen=True)
class ApiResponse:
    status: int
    # The body as received. Kept as bytes: a page holding one non-ASCII character decodes to a str of two or four
    # bytes a character, which DuckDB would encode back to UTF-8 to parse it.
    content: bytes
    attempts: int
    rate_limited: int
    # The store's clock when it answered (the `Date` header, whole seconds) and how long the answer took.
    date: datetime | None = None
    elapsed_s: float = 0.0
    # What the `read` given to `get` took from the body (None without one, or for an empty body).
    values: Any = None

    @cached_property
    def body(self) -> Any:
        """The body as Python objects, built when first asked for: a list page's few values come from `get`'s
        `read` instead."""
        return json.loads(self.content) if self.content else None

    @property
    def is_empty(self) -> bool:
        return self.status == 204 or self.body in (None, [], {})


def scope_for_path(path: str) -> str | None:
    for prefix, scope in SCOPES_BY_PATH:
        if path.startswith(prefix):
            return scope
    return None


def _checked_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme == "https":
        return base_url.rstrip("/")
    if parts.scheme == "http" and parts.hostname and is_loopback(parts.hostname):
        return base_url.rstrip("/")
    host = parts.hostname or "?"
    raise ValueError(f"refusing BigCommerce API URL on host {host!r}: it must use https (plain http is allowed only on loopback)")


def _timing(response: requests.Response) -> tuple[datetime | None, float]:
    try:
        date = parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        date = None
    if date is not None and date.tzinfo is None:
        date = date.replace(tzinfo=timezone.utc)
    return date, response.elapsed.total_seconds()


def _nothing(document: Any) -> None:
    return None


def _error_detail(response: requests.Response) -> str:
    """The message BigCommerce put in an error body: v3 {"title", "errors"} or v2 [{"message", "details"}]."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]
    if not isinstance(body, dict):
        return ""
    parts = [str(body.get(key)) for key in ("title", "message") if body.get(key)]
    for key in ("errors", "details"):
        if body.get(key):
            parts.append(json.dumps(body[key], sort_keys=True))
    return "; ".join(parts)


class BigCommerceClient:
    """GET requests to `{base_url}/v2/...` and `{base_url}/v3/...` of one store.

    `base_url` is `https://api.bigcommerce.com/stores/{store_hash}` (or a loopback sandbox).
    One instance is safe to share between a few threads; its pacer is shared by all of them.
    """

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        pacer: RatePacer | None = None,
        timeout: tuple[float, float] = (10.0, 60.0),
        max_attempts: int = 6,
        max_rate_limited: int = 30,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 60.0,
        pool_size: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._base_url = _checked_base_url(base_url)
        self.pacer = pacer or RatePacer()
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_rate_limited = max_rate_limited
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers.update({"X-Auth-Token": access_token, "Accept": "application/json"})
        # Retries are ours (they must pace on 429 and re-check JSON bodies), so the adapter makes none.
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> BigCommerceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BigCommerceClient({self._base_url!r})"

    def get(self, path: str, params: Mapping[str, Any] | None = None, *,
            read: Callable[[Any], Any] | None = None) -> ApiResponse:
        """GET `path` (e.g. "/v2/orders"); a 204 comes back as an empty response, not an error. `read` is given the
        body's parsed document (see `lazy_json.read_json`) and what it returns is the response's `values`: the
        parse that checks the body serves it too."""
        if params and int(params.get("limit", 0)) > MAX_PAGE_SIZE:
            raise ValueError(f"limit {params['limit']} exceeds BigCommerce's maximum page size of {MAX_PAGE_SIZE}")
        failures = 0
        rate_limited = 0
        last_failure = ""
        attempts = 0
        while True:
            # Checked before every attempt, retries included: a disconnect stops a run at its next request.
            ensure_connected()
            attempts += 1
            self.pacer.acquire()
            try:
                response = self._session.get(self._base_url + path, params=params, timeout=self._timeout)
            except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
                self.pacer.release(None)
                last_failure = "timed out" if isinstance(exc, requests.Timeout) else "connection failed or was reset"
            else:
                is_429 = response.status_code == 429
                self.pacer.release(response.headers, rate_limited=is_429)
                if is_429:
                    rate_limited += 1
                    if rate_limited > self._max_rate_limited:
                        raise RetriesExhausted(
                            f"GET {path} was refused with 429 Too Many Requests {rate_limited} times in a row. {NOTHING_LOST}"
                        )
                    continue
                if response.status_code in RETRYABLE_STATUSES:
                    last_failure = f"HTTP {response.status_code}"
                elif response.status_code >= 400:
                    raise self._rejection(path, params or {}, response)
                elif response.status_code == 204 or not response.content:
                    return ApiResponse(response.status_code, b"", attempts, rate_limited, *_timing(response))
                else:
                    try:
                        # simdjson checks the body is UTF-8 as it parses it.
                        values = read_json(response.content, read or _nothing)
                        return ApiResponse(response.status_code, response.content, attempts, rate_limited,
                                           *_timing(response), values)
                    except NotJson:
                        last_failure = "a malformed JSON body"
            failures += 1
            if failures >= self._max_attempts:
                raise RetriesExhausted(
                    f"GET {path} failed {failures} times (last: {last_failure}). {NOTHING_LOST}"
                )
            delay = min(self._backoff_cap_s, self._backoff_base_s * 2 ** (failures - 1))
            logger.warning("GET %s: %s (attempt %d of %d); retrying in %.1f s", path, last_failure, failures,
                           self._max_attempts, delay)
            self._sleep(delay)

    def _rejection(self, path: str, params: Mapping[str, Any], response: requests.Response) -> BigCommerceError:
        status = response.status_code
        detail = _error_detail(response)
        suffix = f" BigCommerce said: {detail}" if detail else ""
        if status == 401:
            return AuthenticationFailed(
                f"GET {path} returned 401 Unauthorized: the BigCommerce access token is wrong or was revoked.{suffix}"
            )
        if status == 403:
            scope = scope_for_path(path)
            need = f"the OAuth scope {scope}" if scope else "an OAuth scope this endpoint needs"
            return ScopeMissing(
                f"GET {path} returned 403 Forbidden: the API account lacks {need} (or the store hash is wrong).{suffix}"
            )
        if status == 413:
            return RequestRejected(
                f"GET {path} returned 413: the 'limit' parameter ({params.get('limit')}) exceeds the maximum page size.{suffix}"
            )
        if status == 422:
            sent = ", ".join(sorted(params)) or "none"
            return RequestRejected(
                f"GET {path} returned 422: a filter parameter was not accepted (parameters sent: {sent}).{suffix}"
            )
        return RequestRejected(f"GET {path} returned HTTP {status}.{suffix}")
