"""When an enrolment run is due: the sensors' decisions, as plain functions over the event log and the inbox.

Nothing here opens DuckDB. Every enrolment run enrols everything due at that moment (the ledger keeps it
idempotent), so a sensor only has to notice that something may have become due:
- new customers / subscribers: a new materialization of the address book that brings contacts their
  dotmailer ids (every sync makes one, so contacts left over by the hourly budget are retried each sync);
- abandoned baskets: a cart in the inbox that has now been abandoned for an hour, or a new sync (incomplete
  orders, and baskets left over by the budget).
Run keys carry the role and the cursor position they cover: Dagster drops a repeated key forever, so after a
cursor reset a key already run is skipped (its work was done) and every later event gets a fresh key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

import dagster as dg

from bc_pipeline.enrolment.carts import ABANDONED_FOR
from bc_pipeline.enrolment.roles import ABANDONED_BASKETS, NEW_CUSTOMERS, NEW_SUBSCRIBERS
from bc_pipeline.webhooks.inbox import Inbox

CUSTOMERS_BOOK = dg.AssetKey(["dotmailer", "customers_book"])
SUBSCRIBERS_BOOK = dg.AssetKey(["dotmailer", "subscribers_book"])
BOOK_OF_ROLE = {NEW_CUSTOMERS: CUSTOMERS_BOOK, NEW_SUBSCRIBERS: SUBSCRIBERS_BOOK}
# The end of a sync, after which incomplete orders are staged and contacts have their ids.
SYNC_FINISHED = CUSTOMERS_BOOK
PAGE = 1000


@dataclass(frozen=True)
class Decision:
    """A run to request (run_key set) or the reason to skip, and the cursor to keep either way."""

    cursor: str | None
    run_key: str | None = None
    skip_reason: str | None = None


def latest_materialization_after(instance: dg.DagsterInstance, asset_key: dg.AssetKey,
                                 after_storage_id: int | None) -> int | None:
    """Storage id of the newest materialization of `asset_key` after the cursor, or None.

    Without a cursor (first tick, or after a reset) only the newest one counts: a run then covers everything
    due, so older materializations need no run of their own.
    """
    if after_storage_id is None:
        records = instance.fetch_materializations(asset_key, limit=1).records
        return records[0].storage_id if records else None
    newest = None
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, after_storage_id=after_storage_id),
            limit=PAGE, cursor=cursor, ascending=True)
        if page.records:
            newest = page.records[-1].storage_id
        if not page.has_more:
            return newest
        cursor = page.cursor


def new_contacts_decision(instance: dg.DagsterInstance, role: str, cursor: str | None) -> Decision:
    """New customers / subscribers: cursor = storage id of the last book materialization handed to a run."""
    book = BOOK_OF_ROLE[role]
    after = int(cursor) if cursor else None
    newest = latest_materialization_after(instance, book, after)
    if newest is None:
        return Decision(cursor, skip_reason=f"no new materialization of {book.to_user_string()} since event "
                                            f"{after if after is not None else '(none yet)'}")
    return Decision(str(newest), run_key=f"{role}:{book.to_user_string()}:{newest}")


def abandoned_baskets_decision(instance: dg.DagsterInstance, inbox: Inbox | None, cursor: str | None,
                               now: datetime) -> Decision:
    """Abandoned baskets: cursor = {"seq", "through", "sync"}.

    `seq` is the newest inbox event seen and `through` the abandonment time up to which carts were already
    old enough. A cart is new to the sensor if it arrived after `seq` or has crossed the one-hour mark since
    `through`; together these also catch a cart whose webhook was delivered late.
    """
    state = json.loads(cursor) if cursor else {}
    seq, through, sync = state.get("seq", 0), state.get("through"), state.get("sync")
    old_enough = now - ABANDONED_FOR
    carts = inbox.abandoned_carts(older_than=old_enough) if inbox is not None else []
    through_time = datetime.fromtimestamp(through, tz=timezone.utc) if through is not None else None
    fresh = [cart for cart in carts
             if cart.seq > seq or (through_time is not None and cart.abandoned_at >= through_time)]
    newest_sync = latest_materialization_after(instance, SYNC_FINISHED, sync)
    next_state = {
        "seq": max([seq, *(cart.seq for cart in carts)]),
        "through": old_enough.timestamp(),
        "sync": newest_sync if newest_sync is not None else sync,
    }
    next_cursor = json.dumps(next_state, sort_keys=True)
    if not fresh and newest_sync is None:
        return Decision(next_cursor, skip_reason="no cart newly abandoned for an hour and no sync since the last run")
    return Decision(next_cursor, run_key=(f"{ABANDONED_BASKETS}:carts-{next_state['seq']}-"
                                          f"{int(next_state['through'])}:sync-{next_state['sync']}"))
