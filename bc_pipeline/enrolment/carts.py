"""Abandoned baskets: carts abandoned an hour ago and not converted, from the webhook inbox or incomplete orders.

Each basket moves through `dotmailer.abandoned_baskets.status`: new (not read yet) -> fetched (a webhook cart
read from BigCommerce) -> ready (email and CartInsight record known) -> insight_sent -> enrolled, or ends as
gone (BigCommerce no longer has the cart), no_email, converted, suppressed, contact_failed or insight_failed.
Abandoned-basket enrolment needs the contact in dotmailer with its id and the CartInsight record the program's
emails show, so both are sent first; the enrolment itself goes through the shared hourly budget.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import duckdb

from bc_pipeline import warehouse
from bc_pipeline.bigcommerce.client import BigCommerceClient, RequestRejected
from bc_pipeline.bigcommerce.paging import list_request
from bc_pipeline.bigcommerce.streams import ORDERS
from bc_pipeline.dotmailer.address_books import find_or_create_address_book
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.contacts import import_contacts
from bc_pipeline.dotmailer.insight import import_insight
from bc_pipeline.enrolment.enrol import EnrolmentResult, enrol_within_budget, start_enrolment
from bc_pipeline.enrolment.roles import ABANDONED_BASKETS
from bc_pipeline.settings import ConnectorSettings
from bc_pipeline.webhooks.inbox import Inbox

ABANDONED_FOR = timedelta(hours=1)
CART_INSIGHT = "CartInsight"
INCOMPLETE = 0
PAGE_SIZE = 250
# A basket older than this is not worth a reminder, so polling for incomplete orders looks no further back.
INCOMPLETE_ORDER_LOOKBACK = timedelta(days=7)
END_OF_TIME = datetime(9999, 1, 1, tzinfo=timezone.utc)

_INCOMPLETE_ORDERS = """
INSERT OR IGNORE INTO dotmailer.abandoned_baskets
SELECT coalesce(nullif(trim(o.cart_id), ''), 'order-' || o.id), 'incomplete_order', o.id, o.date_modified,
       trim(o.billing_email), lower(trim(o.billing_email)), NULL, NULL, 'new', NULL, $now
FROM bigcommerce.orders o
WHERE o.status_id = $incomplete AND NOT o.is_deleted AND coalesce(trim(o.billing_email), '') <> ''
  AND o.date_created > $switched_on_at AND o.date_modified <= $abandoned_before
"""

_WEBHOOK_CARTS = """
INSERT OR IGNORE INTO dotmailer.abandoned_baskets
SELECT cart_id, 'webhook', NULL, abandoned_at, NULL, NULL, NULL, NULL, 'new', NULL, $now
FROM inbox_carts WHERE abandoned_at > $switched_on_at
"""

# The CartInsight record, as dotmailer's own Magento extension builds it (cartPhase ORDER_PENDING).
_CART_URL = "(SELECT any_value(rtrim(secure_url, '/')) FROM bigcommerce.store) || '/cart.php'"

_ORDER_INSIGHT = f"""
UPDATE dotmailer.abandoned_baskets b SET status = 'ready', updated_at = $now, insight = json_object(
    'cartId', b.cart_id, 'cartUrl', {_CART_URL},
    'createdDate', strftime(o.date_created AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
    'modifiedDate', strftime(o.date_modified AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'),
    'currency', o.currency_code, 'subtotal', o.subtotal_inc_tax::DOUBLE, 'taxAmount', o.total_tax::DOUBLE,
    'shipping', o.shipping_cost_inc_tax::DOUBLE, 'discountAmount', o.discount_amount::DOUBLE,
    'grandTotal', o.total_inc_tax::DOUBLE, 'cartPhase', 'ORDER_PENDING',
    'lineItems', coalesce((
        SELECT list(json_object('sku', li.sku, 'name', li.name, 'productId', li.product_id,
                                'quantity', li.quantity, 'unitPrice', li.price_inc_tax::DOUBLE,
                                'totalPrice', li.total_inc_tax::DOUBLE) ORDER BY li.id)
        FROM bigcommerce.order_line_items li WHERE li.order_id = o.id), []))
FROM bigcommerce.orders o
WHERE b.status = 'new' AND b.source = 'incomplete_order' AND o.id = b.order_id
"""

_CART_INSIGHT = f"""
UPDATE dotmailer.abandoned_baskets b SET
    email = e.email, email_key = lower(e.email), status = CASE WHEN e.email IS NULL THEN 'no_email' ELSE 'ready' END,
    updated_at = $now, insight = json_object(
        'cartId', b.cart_id, 'cartUrl', {_CART_URL},
        'createdDate', b.cart->>'$.created_time', 'modifiedDate', b.cart->>'$.updated_time',
        'currency', b.cart->>'$.currency.code', 'subtotal', (b.cart->>'$.base_amount')::DOUBLE,
        'discountAmount', (b.cart->>'$.discount_amount')::DOUBLE, 'grandTotal', (b.cart->>'$.cart_amount')::DOUBLE,
        'cartPhase', 'ORDER_PENDING',
        'lineItems', coalesce((
            SELECT list(json_object('sku', li->>'sku', 'name', li->>'name', 'productId', (li->>'product_id')::BIGINT,
                                    'productUrl', li->>'url', 'imageUrl', li->>'image_url',
                                    'quantity', (li->>'quantity')::INTEGER, 'unitPrice', (li->>'sale_price')::DOUBLE,
                                    'totalPrice', (li->>'extended_sale_price')::DOUBLE))
            FROM (SELECT unnest(list_concat(json_extract(b.cart, '$.line_items.physical_items[*]'),
                                            json_extract(b.cart, '$.line_items.digital_items[*]'))) AS li)), []))
FROM (
    -- A shopper signed in has the email on their customer record rather than on the cart.
    SELECT x.cart_id, coalesce(nullif(trim(x.cart->>'$.email'), ''), nullif(trim(c.email), '')) AS email
    FROM dotmailer.abandoned_baskets x
    LEFT JOIN bigcommerce.customers c ON c.id = (x.cart->>'$.customer_id')::BIGINT
    WHERE x.status = 'fetched'
) e
WHERE b.cart_id = e.cart_id
"""

# A cart is converted once the inbox saw it converted or deleted, or an order placed from it is past status 0.
_CONVERTED = """
UPDATE dotmailer.abandoned_baskets b SET status = 'converted', updated_at = $now
WHERE status IN ('new', 'fetched', 'ready', 'insight_sent')
  AND (list_contains($ended_carts, b.cart_id)
       OR EXISTS (SELECT 1 FROM bigcommerce.orders o
                  WHERE (o.cart_id = b.cart_id OR o.id = b.order_id) AND o.status_id <> $incomplete))
"""

_SUPPRESSED = """
UPDATE dotmailer.abandoned_baskets b SET status = 'suppressed', updated_at = $now
WHERE status = 'ready' AND EXISTS (SELECT 1 FROM dotmailer.suppressions s WHERE s.email_key = b.email_key)
"""


def enrol_abandoned_baskets(
    conn: duckdb.DuckDBPyConnection,
    client: DotmailerClient,
    bigcommerce: BigCommerceClient,
    inbox: Inbox | None,
    settings: ConnectorSettings,
    now: datetime,
    *,
    poll_interval: float = 5.0,
) -> EnrolmentResult:
    result = start_enrolment(conn, client, settings, ABANDONED_BASKETS, now)
    if result.skipped:
        return result
    stage_incomplete_orders(conn, bigcommerce, max(result.switched_on_at, now - INCOMPLETE_ORDER_LOOKBACK))
    collect_baskets(conn, inbox, result.switched_on_at, now)
    fetch_carts(conn, bigcommerce, now)
    drop_converted(conn, inbox, now)
    if result.program_id is None or result.problem:
        result.waiting = _count(conn, "status IN ('ready', 'insight_sent')")
        return result
    ensure_contacts(conn, client, settings, now, poll_interval)
    send_cart_insight(conn, client, now, poll_interval)
    due = conn.execute(
        """SELECT DISTINCT ON (i.contact_id) b.email_key, i.contact_id
           FROM dotmailer.abandoned_baskets b JOIN dotmailer.contact_ids i USING (email_key)
           WHERE b.status = 'insight_sent'
             AND NOT EXISTS (SELECT 1 FROM dotmailer.enrolments e WHERE e.program_id = $program_id
                             AND e.contact_id = i.contact_id)
             AND NOT EXISTS (SELECT 1 FROM dotmailer.enrolment_failures f WHERE f.program_id = $program_id
                             AND f.contact_id = i.contact_id)
           ORDER BY i.contact_id""",
        {"program_id": result.program_id},
    ).fetchall()
    enrol_within_budget(conn, client, result, [(email_key, contact_id) for email_key, contact_id in due], now)
    # A contact enrols once per program, ever: every basket of an enrolled contact is done.
    conn.execute(
        """UPDATE dotmailer.abandoned_baskets b SET status = 'enrolled', updated_at = $now
           FROM dotmailer.contact_ids i, dotmailer.enrolments e
           WHERE b.status = 'insight_sent' AND i.email_key = b.email_key
             AND e.program_id = $program_id AND e.contact_id = i.contact_id""",
        {"program_id": result.program_id, "now": now},
    )
    return result


def stage_incomplete_orders(conn: duckdb.DuckDBPyConnection, bigcommerce: BigCommerceClient,
                            since: datetime) -> None:
    """Stage the incomplete orders (status 0) created since `since` into `bigcommerce.orders`.

    The orders list leaves status 0 out unless asked for it, so the sync never stages them; the transform
    ignores them as purchases, and the sync's own extract updates the row once the order completes.
    """
    params = {**ORDERS.fixed_params, "status_id": INCOMPLETE, "limit": PAGE_SIZE,
              "min_date_created": since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "min_id": 1}
    cursor = conn.cursor()
    while True:
        listed = list_request(bigcommerce, ORDERS, params, PAGE_SIZE)
        if not listed.ids:
            return
        with warehouse.transaction(cursor):
            warehouse.stage_pages(cursor, ORDERS.table, ORDERS.child_tables, [listed.content], ORDERS.records_path)
        if not listed.full:
            return
        params["min_id"] = max(listed.ids) + 1


def collect_baskets(conn: duckdb.DuckDBPyConnection, inbox: Inbox | None, switched_on_at: datetime,
                    now: datetime) -> None:
    """Record baskets abandoned for an hour since switch-on: webhook carts and incomplete orders."""
    abandoned_before = now - ABANDONED_FOR
    carts = inbox.abandoned_carts(older_than=abandoned_before) if inbox is not None else []
    inbox_carts = {"cart_id": ("VARCHAR", [c.cart_id for c in carts]),
                   "abandoned_at": ("TIMESTAMPTZ", [c.abandoned_at for c in carts])}
    with warehouse.lists_as_table(conn, "inbox_carts", inbox_carts):
        conn.execute(_WEBHOOK_CARTS, {"switched_on_at": switched_on_at, "now": now})
    conn.execute(_INCOMPLETE_ORDERS, {"switched_on_at": switched_on_at, "abandoned_before": abandoned_before,
                                      "incomplete": INCOMPLETE, "now": now})
    conn.execute(_ORDER_INSIGHT, {"now": now})


def fetch_carts(conn: duckdb.DuckDBPyConnection, bigcommerce: BigCommerceClient, now: datetime) -> None:
    """GET /v3/carts/{id} for each new webhook cart: its email, currency, totals and line items."""
    new = [row[0] for row in conn.execute(
        "SELECT cart_id FROM dotmailer.abandoned_baskets WHERE status = 'new' AND source = 'webhook'").fetchall()]
    for cart_id in new:
        try:
            response = bigcommerce.get(f"/v3/carts/{cart_id}")
        except RequestRejected as gone:
            # Converted or deleted since the webhook: BigCommerce keeps no cart to remind anyone of.
            conn.execute(
                """UPDATE dotmailer.abandoned_baskets SET status = 'gone', detail = ?, updated_at = ?
                   WHERE cart_id = ?""", [str(gone), now, cart_id])
            continue
        conn.execute(
            """UPDATE dotmailer.abandoned_baskets SET status = 'fetched', cart = decode(?)::JSON, updated_at = ?
               WHERE cart_id = ?""", [response.content, now, cart_id])
    conn.execute(
        """UPDATE dotmailer.abandoned_baskets SET cart = cart->'$.data'
           WHERE status = 'fetched' AND json_exists(cart, '$.data')""")
    conn.execute(_CART_INSIGHT, {"now": now})


def drop_converted(conn: duckdb.DuckDBPyConnection, inbox: Inbox | None, now: datetime) -> None:
    ended = _ended_carts(conn, inbox)
    conn.execute(_CONVERTED, {"ended_carts": ended, "incomplete": INCOMPLETE, "now": now})
    conn.execute(_SUPPRESSED, {"now": now})


def _ended_carts(conn: duckdb.DuckDBPyConnection, inbox: Inbox | None) -> list[str]:
    """Carts we hold that the inbox no longer lists as abandoned, i.e. converted or deleted since."""
    if inbox is None:
        return []
    held = [row[0] for row in conn.execute(
        "SELECT cart_id FROM dotmailer.abandoned_baskets WHERE source = 'webhook' "
        "AND status IN ('new', 'fetched', 'ready', 'insight_sent')").fetchall()]
    if not held:
        return []
    # Asked for carts abandoned before the end of time, the inbox lists every cart not converted or deleted.
    still_abandoned = {cart.cart_id for cart in inbox.abandoned_carts(older_than=END_OF_TIME)}
    return [cart_id for cart_id in held if cart_id not in still_abandoned]


def ensure_contacts(conn: duckdb.DuckDBPyConnection, client: DotmailerClient, settings: ConnectorSettings,
                    now: datetime, poll_interval: float) -> None:
    """Create the basket owners dotmailer does not know yet, in the customers book, and keep their ids."""
    missing = [row[0] for row in conn.execute(
        """SELECT DISTINCT b.email FROM dotmailer.abandoned_baskets b
           WHERE b.status = 'ready'
             AND NOT EXISTS (SELECT 1 FROM dotmailer.contact_ids i WHERE i.email_key = b.email_key)
           ORDER BY 1""").fetchall()]
    if not missing:
        return
    book = settings.customers_address_book
    lists = [find_or_create_address_book(client, book).id] if book else []
    report = import_contacts(client, [{"email": email, "lists": lists} for email in missing],
                             merge_option="overwriteIfEmpty", poll_interval=poll_interval)
    outcomes = {
        "email_key": ("VARCHAR", [r.email.strip().lower() for r in report.results]),
        "outcome": ("VARCHAR", [r.outcome for r in report.results]),
        "contact_id": ("BIGINT", [r.contact_id for r in report.results]),
        "reason": ("VARCHAR", [r.reason or r.failure_code for r in report.results]),
    }
    with warehouse.lists_as_table(conn, "basket_contacts", outcomes):
        conn.execute(
            """INSERT OR IGNORE INTO dotmailer.contact_ids
               SELECT email_key, contact_id, $now FROM basket_contacts
               WHERE outcome IN ('created', 'updated') AND contact_id IS NOT NULL""", {"now": now})
        conn.execute(
            """UPDATE dotmailer.abandoned_baskets b
               SET status = 'contact_failed', detail = r.reason, updated_at = $now
               FROM basket_contacts r
               WHERE b.status = 'ready' AND r.email_key = b.email_key AND r.outcome = 'failed'""",
            {"now": now})


def send_cart_insight(conn: duckdb.DuckDBPyConnection, client: DotmailerClient, now: datetime,
                      poll_interval: float) -> None:
    """Send the CartInsight record of every ready basket whose owner has a dotmailer contact id."""
    ready = conn.execute(
        """SELECT b.cart_id, b.email, b.insight::VARCHAR FROM dotmailer.abandoned_baskets b
           WHERE b.status = 'ready' AND EXISTS (SELECT 1 FROM dotmailer.contact_ids i WHERE i.email_key = b.email_key)
           ORDER BY b.cart_id""").fetchall()
    if not ready:
        return
    records = [{"key": cart_id, "email": email, "json": json.loads(insight)} for cart_id, email, insight in ready]
    report = import_insight(client, CART_INSIGHT, records, scope="contact", collection_type="cartInsight",
                            poll_interval=poll_interval)
    outcomes = {
        "cart_id": ("VARCHAR", [r.key for r in report.results]),
        "outcome": ("VARCHAR", [r.outcome for r in report.results]),
        "reason": ("VARCHAR", [r.reason for r in report.results]),
    }
    with warehouse.lists_as_table(conn, "insight_outcomes", outcomes):
        conn.execute(
            """UPDATE dotmailer.abandoned_baskets b
               SET status = CASE r.outcome WHEN 'imported' THEN 'insight_sent' ELSE 'insight_failed' END,
                   detail = r.reason, updated_at = $now
               FROM insight_outcomes r WHERE b.cart_id = r.cart_id AND r.outcome IN ('imported', 'failed')""",
            {"now": now})


def _count(conn: duckdb.DuckDBPyConnection, condition: str) -> int:
    return conn.execute(f"SELECT count(*) FROM dotmailer.abandoned_baskets WHERE {condition}").fetchall()[0][0]
