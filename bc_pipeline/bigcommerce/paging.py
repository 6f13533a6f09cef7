"""Walking one fixed `[start, end]` date-modified window of a stream, page by page.

Every scheme here relies on one property: while `end` is in the store's past, no row can enter the
window (a create or an update stamps `date_modified` with the store's now, which is after `end`).
Rows can only leave it. Each scheme makes sure a row leaving cannot make the scan jump over another.

Each page comes with a resume token: where the scan stands once that page is committed. Starting a
scheme from a token continues the same window with nothing skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from bc_pipeline.bigcommerce import lazy_json
from bc_pipeline.bigcommerce.client import BigCommerceClient, BigCommerceError
from bc_pipeline.bigcommerce.pacing import QuotaWait
from bc_pipeline.bigcommerce.streams import DateFormat, Paging, StreamSpec

ONE_SECOND = timedelta(seconds=1)

# How many already-read rows each subscribers request re-reads to prove its scan is contiguous.
ANCHOR_OVERLAP = 5


class UnexpectedResponse(BigCommerceError):
    """A 2xx body whose shape the stream's paging cannot continue from."""


@dataclass(frozen=True)
class ScanWindow:
    """The `[start, end]` date_modified window one scan covers.

    A run's incremental window opens without an end: its first request is sent with no upper date bound, and
    the store's clock in that answer (the `Date` header) closes it at that time less `lag` and the request's
    own duration, so the run needs no request just to learn the store's time. A backfill's window may not
    close past `cap`, the end of its range, which bounds its requests from the first one.
    """

    start: datetime
    end: datetime | None = None
    cap: datetime | None = None
    lag: timedelta = timedelta(0)

    def closed_by(self, client: BigCommerceClient, answer: Listed) -> ScanWindow:
        if self.end is not None:
            return self
        store_now, elapsed = answer.date, answer.elapsed_s
        if store_now is None:
            # A proxy that drops `Date` costs one request to ask the store instead.
            store_now, elapsed = read_store_clock(client), 0.0
        end = store_now.replace(microsecond=0) - self.lag - timedelta(seconds=math.ceil(elapsed))
        if self.cap is not None:
            end = min(end, self.cap)
        return replace(self, end=max(end, self.start))

    def params(self, spec: StreamSpec, upper: datetime | None) -> dict[str, Any]:
        """The date filters for a request bounded above by `upper` (None: no upper bound). The spec leaves open
        whether `min`/`max` are inclusive, so the lower bound reaches one second back: each window then re-reads
        its first second either way, and the previous window's last second (which an exclusive `max` would drop)
        is read again here."""
        params = {spec.modified_min_param: format_filter_date(self.start - ONE_SECOND, spec.date_format)}
        if upper is not None:
            params[spec.modified_max_param] = format_filter_date(upper, spec.date_format)
        return params

    @property
    def upper_bound(self) -> datetime | None:
        """What bounds a keyset scan's requests: its end if it had one from the start, else its cap. A keyset
        scan needs no fixed end to be complete (a row changed mid-scan is stamped after the window and read by
        the next run), and keeping every page's query the same keeps an opaque cursor valid."""
        return self.end if self.end is not None else self.cap


@dataclass(frozen=True)
class Listed:
    """A list request's answer as a scan keeps it: the body as received, its records' ids and what paging needs,
    but no parsed copy of the body. Parsed, a page of orders takes several times its size; pages on their way and
    the page being staged hold their body only."""

    content: bytes
    ids: list[int]
    full: bool                # as many records as the page size the server applied
    attempts: int
    rate_limited: int
    date: datetime | None
    elapsed_s: float
    end_cursor: str | None    # v3 cursor paging's position after this page


def list_request(client: BigCommerceClient, spec: StreamSpec, params: dict[str, Any], limit: int) -> Listed:
    response = client.get(spec.path, params, read=lambda document: _list_facts(spec, document, limit))
    ids, served, end_cursor = response.values if response.content else ([], limit, None)
    return Listed(response.content, ids, len(ids) >= served, response.attempts, response.rate_limited, response.date,
                  response.elapsed_s, end_cursor)


def _list_facts(spec: StreamSpec, document: Any, requested: int) -> tuple[list[int], int, str | None]:
    """A list page's record ids, the page size the server applied and its v3 cursor (None without one)."""
    envelope = document if isinstance(document, lazy_json.Object) else None
    records = envelope.get("data") if spec.api_version == "v3" and envelope is not None else document
    if not isinstance(records, lazy_json.Array):
        raise UnexpectedResponse(f"GET {spec.path} returned a body without a list of records")
    ids = [int(record[spec.primary_key]) for record in records]
    meta = (envelope.get("meta") if envelope is not None else None) or {}
    # v3 reports the page size it applied; a server that caps below our limit must not end the scan early.
    per_page = (meta.get("pagination") or {}).get("per_page")
    served = per_page if isinstance(per_page, int) and 0 < per_page < requested else requested
    return ids, served, (meta.get("cursor_pagination") or {}).get("end_cursor") or None


@dataclass(frozen=True)
class Page:
    content: bytes | None     # the response body to stage (None: nothing to stage)
    resume: str | None        # where the scan continues after this page
    last: bool                # the window is complete once this page is committed
    attempts: int             # requests it took, retries included
    rate_limited: int         # of which refused with 429
    window: ScanWindow | None = None   # closed (its end known); None for a single object
    ids: tuple[int, ...] = ()          # of the records in `content`; none for a single object

    @classmethod
    def of(cls, listed: Listed, resume: str | None, last: bool, window: ScanWindow) -> Page:
        return cls(listed.content if listed.ids else None, resume, last, listed.attempts, listed.rate_limited, window,
                   tuple(listed.ids))


def read_store_clock(client: BigCommerceClient) -> datetime:
    """The store's own time (`GET /v2/time`)."""
    response = client.get("/v2/time")
    seconds = response.body.get("time") if isinstance(response.body, dict) else None
    if not isinstance(seconds, int):
        raise UnexpectedResponse("GET /v2/time did not return the store's time")
    return datetime.fromtimestamp(seconds, timezone.utc)


def format_filter_date(moment: datetime, date_format: DateFormat) -> str:
    moment = moment.astimezone(timezone.utc)
    if date_format is DateFormat.RFC2822:
        return format_datetime(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def pages(client: BigCommerceClient, spec: StreamSpec, window: ScanWindow, resume: str | None) -> Iterator[Page]:
    """The pages of `spec` modified in `window`, continuing after `resume` when given."""
    walker = {
        Paging.CURSOR_V3: _cursor_pages,
        Paging.ANCHORED_OFFSET_V3: _anchored_offset_pages,
        Paging.TWO_ENDED_ID: _two_ended_id_pages,
    }[spec.paging]
    return walker(client, spec, window, resume)


def single_object_page(client: BigCommerceClient, spec: StreamSpec) -> Page:
    response = client.get(spec.path, spec.base_params)
    if not isinstance(response.body, dict):
        raise UnexpectedResponse(f"GET {spec.path} did not return one JSON object")
    # Staged like a one-record v2 list.
    return Page(b"[" + response.content + b"]", None, True, response.attempts, response.rate_limited)


def _two_ended_id_pages(client, spec: StreamSpec, window: ScanWindow, resume) -> Iterator[Page]:
    """Orders and products: two keyset scans on one id range, ascending from the bottom above an inclusive id
    minimum (`min_id`, `id:min`) and descending from the top below an inclusive id maximum (`max_id`, `id:max`),
    until they meet. Where they meet ends the scan, so a window of an exact multiple of 250 rows needs no empty
    page to prove its end. The two directions' requests overlap in time, and each direction's next request is
    on its way while the previous page is being staged.

    Progress is the pair (low, high): every id of the window at or below `low` and at or above `high` is staged;
    it is also the resume token. A full page covers the ids it spans, a short one its request's whole range. A
    request leaves out the ids the other direction's request on its way is sure to cover (a full page of 250 rows
    spans at least 250 ids), so where the directions meet they rarely read a row twice. The ascending scan starts
    alone, so a window that fits one page costs one request.
    """
    upper = window.upper_bound
    state = json.loads(resume) if resume else {"low": None, "high": None}
    low, high = state["low"], state["high"]

    def fetch(descending: bool, low: int | None, high: int | None) -> Listed:
        params = {**spec.base_params, **window.params(spec, upper), "limit": spec.page_size}
        if descending:
            params.update(spec.descending_params)
        if low is not None:
            params[spec.keyset_param] = low + 1
        if high is not None:
            params[spec.upper_keyset_param] = high - 1
        return list_request(client, spec, params, spec.page_size)

    def token() -> str:
        return json.dumps({"low": low, "high": high})

    if low is None:
        listed = fetch(False, None, high)
        window = window.closed_by(client, listed)
        low = max(listed.ids, default=None)
        done = not listed.full
        yield Page.of(listed, token(), done, window)
        if done:
            return
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"bc-{spec.name}") as pool:
        in_flight: dict = {}

        def send_what_is_left() -> None:
            for descending in (False, True):
                if any(sent[0] == descending for sent in in_flight.values()):
                    continue
                bounds = _range_left(descending, low, high, in_flight.values(), spec.page_size)
                if bounds is not None:
                    in_flight[pool.submit(fetch, descending, *bounds)] = (descending, *bounds)

        send_what_is_left()
        done = False
        stopped: QuotaWait | None = None
        while in_flight:
            finished = next(as_completed(in_flight))
            descending, sent_low, sent_high = in_flight.pop(finished)
            try:
                listed = finished.result()
            except QuotaWait as wait:
                # The other direction's page may be on its way: it is staged before the scan stops, not read again.
                stopped = wait
                if done and not in_flight:
                    # The page already received ended the scan; the request that stopped was not needed.
                    yield Page(None, token(), True, 0, 0, window)
                continue
            if descending:
                reached = min(listed.ids) if listed.full else sent_low + 1
                high = reached if high is None else min(high, reached)
            elif not listed.full and sent_high is None:
                done = True
            else:
                low = max(low, max(listed.ids) if listed.full else sent_high - 1)
            done = done or (high is not None and low + 1 >= high)
            if not done and stopped is None:
                send_what_is_left()
            yield Page.of(listed, token(), done and not in_flight, window)
        if stopped is not None and not done:
            raise stopped


def _range_left(descending: bool, low: int, high: int | None, sent, page_size: int) -> tuple[int, int | None] | None:
    """The exclusive id bounds of one direction's next request, or None when nothing is left for it now: the ids
    between `low` and `high`, less those the other direction's request on its way is sure to read. While the
    first descending request is on its way the top of the range is unknown, so an ascending request could only
    read ids that one may be reading too: the ascending scan waits for its answer."""
    for other_descending, other_low, other_high in sent:
        if descending and not other_descending:
            low = max(low, other_low + page_size)
        elif not descending and other_descending:
            if other_high is None:
                return None
            high = other_high - page_size if high is None else min(high, other_high - page_size)
    return None if high is not None and low + 1 >= high else (low, high)


def _cursor_pages(client, spec: StreamSpec, window: ScanWindow, resume) -> Iterator[Page]:
    """Customers: v3 cursor paging (`after` = the previous page's `end_cursor`), a keyset on id."""
    upper = window.upper_bound
    after = resume
    while True:
        params = {**spec.base_params, **window.params(spec, upper), "limit": spec.page_size}
        if after:
            params[spec.keyset_param] = after
        listed = list_request(client, spec, params, spec.page_size)
        window = window.closed_by(client, listed)
        done = not listed.full
        if not done and not listed.end_cursor:
            raise UnexpectedResponse(f"GET {spec.path} returned a full page without meta.cursor_pagination.end_cursor")
        after = listed.end_cursor or after
        yield Page.of(listed, after, done, window)
        if done:
            return


def _anchored_offset_pages(client, spec: StreamSpec, window: ScanWindow, resume) -> Iterator[Page]:
    """Subscribers: the endpoint has neither `sort` nor an id range filter, only `page` and `limit`.

    Plain offset paging skips a row whenever a row already read leaves the window: every later row
    moves up a slot and one crosses the page boundary unseen. Rows can only leave this window, and
    those that stay keep their order (whatever the server's order is, it is deterministic, and a
    row that changes leaves). So each request starts a few rows *before* where the last one ended
    (page and limit are chosen so that `(page - 1) * limit` lands there) and must find one of those
    already-read rows (the anchors) in its answer. Every row ahead of an anchor in the current order
    was read before, and the rows after it in the answer are the next ones: the scan is contiguous
    by construction, with no reliance on `meta.pagination.total` (reported wrong at times).
    If no anchor is found (more rows left than the overlap, or the anchors themselves left), the
    overlap doubles until one is, or the scan restarts at offset 0, which needs no anchor. The scan
    ends on a short page reached contiguously.

    An open window's first request has no upper date bound; every later one is bounded by the end that first
    answer fixed, so the rows stamped since then are rows that left, which the anchors already allow for.
    """
    state = json.loads(resume) if resume else {"covered": 0, "anchors": []}
    covered, anchors = state["covered"], state["anchors"]
    overlap = ANCHOR_OVERLAP
    while True:
        target = max(covered - overlap, 0) if anchors else 0
        page_number, limit = _page_starting_at_or_before(target, spec.page_size)
        params = {**spec.base_params, **window.params(spec, window.end), "limit": limit, "page": page_number}
        listed = list_request(client, spec, params, limit)
        window = window.closed_by(client, listed)
        offset = (page_number - 1) * limit
        ids = listed.ids
        if offset == 0 or _finds_anchor(ids, anchors):
            covered = offset + len(ids)
            anchors = ids[-ANCHOR_OVERLAP:]
            overlap = ANCHOR_OVERLAP
            last = not listed.full
        else:
            overlap *= 2
            last = False
        token = None if last else json.dumps({"covered": covered, "anchors": anchors})
        yield Page.of(listed, token, last, window)
        if last:
            return


def _finds_anchor(ids: list[int], anchors: list[int]) -> bool:
    present = set(ids)
    return any(anchor in present for anchor in anchors)


def _page_starting_at_or_before(target: int, max_limit: int) -> tuple[int, int]:
    """The (page, limit) whose page starts at or before offset `target` and reaches furthest past it."""
    if target == 0:
        return 1, max_limit
    floor = max(1, max_limit * 4 // 5)
    best_end, best = -1, (1, max_limit)
    for limit in range(max_limit, floor - 1, -1):
        page = target // limit + 1
        if page * limit > best_end:
            best_end, best = page * limit, (page, limit)
    return best
