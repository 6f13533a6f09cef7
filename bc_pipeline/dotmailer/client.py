"""HTTP client for the dotmailer (Dotdigital) API: auth, region discovery, pacing, retries, clear errors.

Written from Dotdigital's official v2/v3 specs. Every other module in this package goes through
`DotmailerClient.call` so rate limits, retries and error texts are handled in one place.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from bc_pipeline.connection_marker import ensure_connected
from bc_pipeline.dotmailer.account import AccountInfo
from bc_pipeline.dotmailer.errors import (
    DotmailerApiError,
    DotmailerAuthError,
    DotmailerUnavailable,
    EnrolmentAllowanceExceeded,
    InsecureEndpoint,
    InsightNotEnabled,
    ProgramNotActive,
    RateLimited,
)
from bc_pipeline.loopback import is_loopback

log = logging.getLogger(__name__)

# Dotdigital asks every account to discover its region through r1, whatever the region is.
DEFAULT_DISCOVERY_URL = "https://r1-api.dotdigital.com"

# Dotdigital advises allowing 121 s before giving up on a response.
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 121.0

_V2_ERROR_CODE = re.compile(r"ERROR_[A-Z0-9_]+")
_MAX_DESCRIPTION_CHARS = 500

_ERROR_TYPES_BY_CODE: dict[str, type[DotmailerApiError]] = {
    "ERROR_PROGRAM_NOT_ACTIVE": ProgramNotActive,
    "ERROR_ENROLMENT_ALLOWANCE_EXCEEDED": EnrolmentAllowanceExceeded,
}
_INSIGHT_PATHS = ("/insightData/", "/v2/contacts/transactional-data", "/v2/transactional-data")


def require_secure_url(url: str) -> str:
    """Return `url` without a trailing slash; refuse plain http except to a loopback host (the sandbox)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InsecureEndpoint(f"dotmailer endpoint {url!r} is not an http(s) URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise InsecureEndpoint(
            f"dotmailer endpoint {url!r} must use https: the API password would otherwise travel in clear text"
        )
    return url.rstrip("/")


def _is_feature_not_active(code: str | None) -> bool:
    # v2 says ERROR_FEATURENOTACTIVE; the v3 spec documents no code for it, so accept the likely spellings.
    normalized = re.sub(r"[^A-Z]", "", (code or "").upper())
    return "FEATURENOTACTIVE" in normalized or "FEATURENOTENABLED" in normalized or "INSIGHTNOTENABLED" in normalized


class DotmailerClient:
    """A pooled, authenticated session against one dotmailer account.

    Pass `base_url` to pin the regional endpoint (or a sandbox); otherwise it is discovered on first use from
    `GET /v2/account-info` on `discovery_url`. `sleep`, `now` (wall clock) and `monotonic` are injectable so
    tests never wait for real.
    """

    def __init__(
        self,
        api_user: str,
        api_password: str,
        *,
        base_url: str | None = None,
        discovery_url: str = DEFAULT_DISCOVERY_URL,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_retries: int = 6,
        max_rate_limit_waits: int = 30,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        rate_limit_wait_cap: float = 120.0,
        pool_size: int = 32,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        if not api_user or not api_password:
            raise ValueError("dotmailer needs an API user and its password")
        self.api_user = api_user
        self._password = api_password
        self._base_url = require_secure_url(base_url) if base_url else None
        self._discovery_url = require_secure_url(discovery_url)
        self._timeout = (connect_timeout, read_timeout)
        self._max_retries = max_retries
        self.max_rate_limit_waits = max_rate_limit_waits
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._rate_limit_wait_cap = rate_limit_wait_cap
        self.sleep = sleep
        self.now = now
        self.monotonic = monotonic
        self._session = requests.Session()
        self._session.auth = (api_user, api_password)
        self._session.headers.update({"Accept": "application/json"})
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)

    def __repr__(self) -> str:
        return f"DotmailerClient(api_user={self.api_user!r}, base_url={self._base_url!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> DotmailerClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """The account's regional API endpoint, discovered once from account-info when not given."""
        if self._base_url is None:
            self._base_url = self._discover_base_url()
        return self._base_url

    def _discover_base_url(self) -> str:
        payload = self._call_at(self._discovery_url, "GET", "/v2/account-info", operation="discover account region")
        endpoint = AccountInfo.from_payload(payload).api_endpoint
        return require_secure_url(endpoint) if endpoint else self._discovery_url

    def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        retry_when_unsure: bool = True,
        wait_on_rate_limit: bool = True,
    ) -> Any:
        """Send one request and return its decoded JSON (None for an empty body).

        `body` is pre-encoded JSON (the import modules measure it before sending). With `retry_when_unsure`
        False, a 5xx or read timeout — after which dotmailer may have acted — is raised instead of resent. With
        `wait_on_rate_limit` False a 429 raises RateLimited at once, for callers with other work to do meanwhile.
        """
        return self._call_at(
            self.base_url,
            method,
            path,
            operation=operation,
            params=params,
            json_body=json_body,
            body=body,
            retry_when_unsure=retry_when_unsure,
            wait_on_rate_limit=wait_on_rate_limit,
        )

    def call_text(self, method: str, path: str, *, operation: str, params: Mapping[str, Any] | None = None) -> str:
        """Like `call` for the few endpoints that answer in CSV."""
        return self._send(self.base_url, method, path, operation=operation, params=params, decode=False)

    def iterate_pages(
        self, path: str, *, operation: str, params: Mapping[str, Any] | None = None, page_size: int = 1000
    ) -> Iterator[Any]:
        """Yield every item of a v2 list endpoint, paging with select/skip until a short page."""
        if not 1 <= page_size <= 1000:
            raise ValueError("dotmailer pages hold between 1 and 1000 items")
        skip = 0
        while True:
            page = self.call(
                "GET", path, operation=operation, params={**(params or {}), "select": page_size, "skip": skip}
            )
            items = page if isinstance(page, list) else []
            yield from items
            if len(items) < page_size:
                return
            skip += len(items)

    def pause_after_rate_limit(self, operation: str, reset_seconds: float | None, attempt: int) -> None:
        """Sleep until dotmailer's announced reset (capped), or back off by `attempt` when it announced none."""
        if attempt > self.max_rate_limit_waits:
            raise DotmailerUnavailable(
                f"dotmailer {operation}: still rate limited (HTTP 429) after {attempt - 1} waits"
            )
        wait = (
            self._backoff(attempt)
            if reset_seconds is None
            else min(self._rate_limit_wait_cap, max(0.0, reset_seconds) + 0.05)
        )
        log.warning("dotmailer %s rate limited (HTTP 429); waiting %.1f s", operation, wait)
        self.sleep(wait)

    def _call_at(
        self,
        base_url: str,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        retry_when_unsure: bool = True,
        wait_on_rate_limit: bool = True,
    ) -> Any:
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self._send(
            base_url,
            method,
            path,
            operation=operation,
            params=params,
            body=body,
            retry_when_unsure=retry_when_unsure,
            wait_on_rate_limit=wait_on_rate_limit,
        )

    def _send(
        self,
        base_url: str,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        retry_when_unsure: bool = True,
        wait_on_rate_limit: bool = True,
        decode: bool = True,
    ) -> Any:
        url = base_url + path
        headers = {"Content-Type": "application/json; charset=utf-8"} if body is not None else None
        failures = 0
        rate_limit_waits = 0
        while True:
            # Checked before every attempt, retries included: a disconnect stops a run at its next request.
            ensure_connected()
            try:
                response = self._session.request(
                    method, url, params=params, data=body, headers=headers, timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.ConnectTimeout:
                problem = "connection timed out"
            except (requests.Timeout, requests.ConnectionError) as exc:
                problem = "timed out" if isinstance(exc, requests.Timeout) else "connection failed"
                if not retry_when_unsure:
                    raise DotmailerUnavailable(
                        f"dotmailer {operation}: {problem}; not resent because dotmailer may have acted on it"
                    ) from None
            else:
                status = response.status_code
                if status == 429:
                    reset_seconds = self._reset_seconds(response)
                    if not wait_on_rate_limit:
                        raise RateLimited(operation, reset_seconds)
                    rate_limit_waits += 1
                    self.pause_after_rate_limit(operation, reset_seconds, rate_limit_waits)
                    continue
                if 200 <= status < 300:
                    if not decode:
                        return response.text
                    decoded, ok = _decode_json(response)
                    if ok:
                        return decoded
                    problem = f"HTTP {status} with a body that is not JSON"
                    if not retry_when_unsure:
                        raise DotmailerUnavailable(f"dotmailer {operation}: {problem}")
                elif status >= 500 or status == 408:
                    problem = f"HTTP {status}"
                    if not retry_when_unsure:
                        raise DotmailerUnavailable(
                            f"dotmailer {operation}: {problem}; not resent because dotmailer may have acted on it"
                        )
                else:
                    raise self._api_error(operation, path, response)
            failures += 1
            if failures > self._max_retries:
                raise DotmailerUnavailable(f"dotmailer {operation}: {problem}, still failing after {failures} attempts")
            wait = self._backoff(failures)
            log.warning("dotmailer %s: %s; retry %d in %.1f s", operation, problem, failures, wait)
            self.sleep(wait)

    def _backoff(self, attempt: int) -> float:
        # Half-jitter keeps parallel workers from retrying in lock step.
        ceiling = min(self._backoff_cap, self._backoff_base * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _reset_seconds(self, response: requests.Response) -> float | None:
        reset = _number_header(response, "x-ratelimit-reset")
        if reset is None:
            reset = _number_header(response, "retry-after")
        if reset is None:
            return None
        # The SDK documents seconds until reset; an epoch timestamp is tolerated in case the header is absolute.
        return reset - self.now() if reset > 1_000_000_000 else reset

    def _api_error(self, operation: str, path: str, response: requests.Response) -> DotmailerApiError:
        status = response.status_code
        code, description = _error_code_and_description(response)
        description = self._redact(description)
        error_type = _ERROR_TYPES_BY_CODE.get(code or "")
        if error_type is None and _is_feature_not_active(code) and path.startswith(_INSIGHT_PATHS):
            error_type = InsightNotEnabled
        if error_type is not None:
            return error_type(operation, status, code, description)
        if status == 401:
            return DotmailerAuthError(
                operation, status, code, f"dotmailer rejected API user {self.api_user!r} or its password"
            )
        if status == 403:
            return DotmailerAuthError(
                operation,
                status,
                code,
                f"{description} (check the API user's permissions and that the endpoint is the account's region)",
            )
        return DotmailerApiError(operation, status, code, description)

    def _redact(self, text: str) -> str:
        # dotmailer has no reason to echo the password, but an error text must never be the way it leaks.
        return text.replace(self._password, "***") if self._password else text


def _decode_json(response: requests.Response) -> tuple[Any, bool]:
    if not response.content or not response.content.strip():
        return None, True
    try:
        return response.json(), True
    except ValueError:
        return None, False


def _number_header(response: requests.Response, name: str) -> float | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _error_code_and_description(response: requests.Response) -> tuple[str | None, str]:
    payload, ok = _decode_json(response)
    if ok and isinstance(payload, dict):
        if payload.get("errorCode"):
            description = str(payload.get("description") or "")
            details = [
                f"{item.get('item')}: {item.get('description')}"
                for item in payload.get("details") or []
                if isinstance(item, dict)
            ]
            if details:
                description = f"{description} ({'; '.join(details)})"
            return str(payload["errorCode"]), description[:_MAX_DESCRIPTION_CHARS]
        message = str(payload.get("message") or payload.get("Message") or payload.get("title") or "")
        match = _V2_ERROR_CODE.search(message)
        return (match.group(0) if match else None), (message or response.reason or "")[:_MAX_DESCRIPTION_CHARS]
    text = response.text.strip() if response.text else ""
    match = _V2_ERROR_CODE.search(text)
    return (match.group(0) if match else None), (text or response.reason or "")[:_MAX_DESCRIPTION_CHARS]
