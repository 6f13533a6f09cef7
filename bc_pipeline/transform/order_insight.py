"""Order history for dotmailer's contact-scoped Insight collection `Orders`, built in DuckDB SQL.

- `dotmailer.outbound_orders`: one record per completed, unarchived order: key = order id, the contact's email,
  the record's JSON, a hash of what is sent and when the record was last built.
- `dotmailer.rejected_orders`: orders that cannot be attached to a contact, with the reason.

Field names and JSON types follow Dotdigital's own Magento connector (ids as strings, money as numbers), so
Dotdigital's order features read these records as they read its own. dotmailer fixes a collection's schema from
the first records it receives, so every field always has one JSON type: strings are "" rather than null,
numbers 0, lists [].

Both tables are kept up to date incrementally: building an order's record gathers its line items, their discounts
and their products, so only orders whose record may have changed since the last build are built again. An order's
record reads its own staged row and line items, the products of its lines, its contact's email and the store's
name; which contact and email it has is recomputed for every order each time, since that reads typed columns only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from bc_pipeline.transform.contacts import VALID_EMAIL
from bc_pipeline.transform.deleted_records import ensure_deleted_records
from bc_pipeline.warehouse import building, transaction

TRANSFORM = "order_insight"

OUTBOUND_DDL = """CREATE TABLE IF NOT EXISTS dotmailer.outbound_orders (
    key VARCHAR, email_key VARCHAR, email VARCHAR, json JSON, hash VARCHAR, built_at TIMESTAMPTZ)"""
REJECTED_DDL = """CREATE TABLE IF NOT EXISTS dotmailer.rejected_orders (
    key VARCHAR, email_key VARCHAR, email VARCHAR, reason VARCHAR, rejected_at TIMESTAMPTZ)"""
BUILDS_DDL = """CREATE TABLE IF NOT EXISTS dotmailer.transform_builds (
    transform VARCHAR PRIMARY KEY, built_at TIMESTAMPTZ, fingerprint VARCHAR)"""

# Every order that should be in Insight, with the contact it belongs to: typed columns only, so cheap for all.
ORDER_CONTACTS_SQL = r"""
CREATE OR REPLACE TEMP TABLE order_contacts AS
WITH orders AS (
    SELECT o.id, o.staged_at,
           -- The same contact as transform/contacts gives the order: the customer's email, else the billing one.
           lower(trim(coalesce(c.email, o.billing_email))) AS email_key,
           trim(coalesce(c.email, o.billing_email)) AS order_email
    FROM bigcommerce.orders o
    LEFT JOIN bigcommerce.customers c ON o.customer_id <> 0 AND c.id = o.customer_id
    WHERE o.status_id <> 0 AND NOT o.is_deleted
      AND NOT EXISTS (SELECT 1 FROM bigcommerce.deleted_records d WHERE d.stream = 'orders' AND d.id = o.id)
)
SELECT
    o.id, o.id::VARCHAR AS key, o.staged_at, o.email_key,
    coalesce(k.email, o.order_email) AS email,
    CASE
        WHEN coalesce(o.email_key, '') = '' THEN 'order has no contact email'
        WHEN r.email_key IS NOT NULL THEN 'contact email rejected: ' || r.reason
        -- Only a deleted customer's order falls back to a billing email that no contact has (a guest's order makes
        -- its buyer a contact), so no contact row checked it; and dotmailer refuses Insight data for an email it
        -- holds no contact for.
        WHEN NOT regexp_full_match(coalesce(k.email, o.order_email), '$valid_email$') THEN 'email is not a valid address'
        WHEN k.email_key IS NULL THEN 'its customer account was deleted and no contact has its billing email'
    END AS rejected_reason
FROM orders o
LEFT JOIN dotmailer.contacts k ON k.email_key = o.email_key
LEFT JOIN dotmailer.rejected_contacts r ON r.email_key = o.email_key
""".replace("$valid_email$", VALID_EMAIL)

# Orders whose record may differ from the one built: new, moved between contacts or emails, re-staged, or
# holding a product that changed or was deleted since the last build. $since NULL rebuilds every order.
CHANGED_ORDERS_SQL = """
CREATE OR REPLACE TEMP TABLE changed_orders AS
SELECT c.* FROM order_contacts c
WHERE $since::TIMESTAMPTZ IS NULL
   OR c.staged_at >= $since::TIMESTAMPTZ
   OR (NOT EXISTS (SELECT 1 FROM dotmailer.outbound_orders o
                   WHERE o.key = c.key AND c.rejected_reason IS NULL AND o.email IS NOT DISTINCT FROM c.email)
       AND NOT EXISTS (SELECT 1 FROM dotmailer.rejected_orders r
                       WHERE r.key = c.key AND r.reason = c.rejected_reason AND r.email IS NOT DISTINCT FROM c.email))
   OR c.id IN (SELECT l.order_id FROM bigcommerce.order_line_items l
               JOIN bigcommerce.products p ON p.id = l.product_id WHERE p.staged_at >= $since::TIMESTAMPTZ)
   OR c.id IN (SELECT l.order_id FROM bigcommerce.order_line_items l
               JOIN bigcommerce.deleted_records d ON d.stream = 'products' AND d.id = l.product_id
               WHERE d.deleted_at >= $since::TIMESTAMPTZ)
"""

# The changed orders that can be sent, cut into batches by id: building a record gathers its line items into a
# list, which DuckDB holds in memory for every order of the statement, so a whole large store at once would not
# fit under the warehouse's memory cap.
BATCH_ORDERS = 20_000
BATCH_BOUNDS_SQL = """
SELECT min(id), max(id) FROM (
    SELECT id, (row_number() OVER (ORDER BY id) - 1) // $size AS batch FROM changed_orders WHERE rejected_reason IS NULL
) GROUP BY batch ORDER BY 1
"""
BATCH_SQL = """
CREATE OR REPLACE TEMP TABLE batch_orders AS
SELECT * FROM changed_orders WHERE rejected_reason IS NULL AND id BETWEEN $low AND $high
"""

# The records of one batch of orders. Orders are read from typed columns: parsing their raw JSON (up to hundreds
# of KB with its consignments) holds a whole vector of parsed documents, more than a small memory cap allows.
RECORDS_SQL = r"""
WITH
store AS (SELECT coalesce(any_value(name), '') AS store_name FROM bigcommerce.store),
line_items AS (
    SELECT l.order_id,
           list(json_object(
               'product_id', coalesce(nullif(l.product_id, 0)::VARCHAR, ''),
               'name', coalesce(l.name, ''),
               'sku', coalesce(l.sku, ''),
               'qty', coalesce(l.quantity, 0),
               'price', coalesce(l.price_ex_tax, 0)::DOUBLE,
               'price_inc_tax', coalesce(l.price_inc_tax, 0)::DOUBLE,
               -- Objects, not bare ids, so category names can join later without changing a field's type.
               'categories', list_transform(coalesce(p.categories, []), lambda c: json_object('Id', c::VARCHAR))
           ) ORDER BY l.id) AS products,
           -- The order itself only links to its coupons; the codes it used travel on the lines' discounts.
           list_sort(list_distinct(flatten(list(list_filter(
               list_transform(l.applied_discounts, lambda discount: discount.code),
               lambda code: coalesce(code, '') <> ''))))) AS coupon_codes
    FROM bigcommerce.order_line_items l
    LEFT JOIN bigcommerce.products p ON p.id = l.product_id
    WHERE l.order_id IN (SELECT id FROM batch_orders)
    GROUP BY l.order_id
),
orders AS (
    SELECT o.*, c.key, c.email, c.email_key FROM batch_orders c JOIN bigcommerce.orders o ON o.id = c.id
)
SELECT
    o.key, o.email_key, o.email,
    json_object(
        'id', o.id::VARCHAR,
        'email', coalesce(o.email, ''),
        'storeName', s.store_name,
        'purchaseDate', coalesce(strftime(o.date_created AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), ''),
        'orderStatus', coalesce(o.status, ''),
        'currency', coalesce(o.currency_code, ''),
        'orderSubtotal', coalesce(o.subtotal_ex_tax, 0)::DOUBLE,
        'discountAmount', (coalesce(o.discount_amount, 0) + coalesce(o.coupon_discount, 0))::DOUBLE,
        'deliveryTotal', coalesce(o.shipping_cost_inc_tax, 0)::DOUBLE,
        'orderTotal', coalesce(o.total_inc_tax, 0)::DOUBLE,
        'payment', coalesce(o.payment_method, ''),
        'deliveryMethod', coalesce(o.shipping_method, ''),
        'couponCode', array_to_string(coalesce(li.coupon_codes, []), ','),
        'billingAddress', json_object(
            'billing_address_1', coalesce(o.billing_street_1, ''),
            'billing_address_2', coalesce(o.billing_street_2, ''),
            'billing_city', coalesce(o.billing_city, ''),
            'billing_region', coalesce(o.billing_state, ''),
            'billing_country', coalesce(o.billing_country_iso2, ''),
            'billing_postcode', coalesce(o.billing_zip, '')),
        'deliveryAddress', json_object(
            'delivery_address_1', coalesce(o.shipping_street_1, ''),
            'delivery_address_2', coalesce(o.shipping_street_2, ''),
            'delivery_city', coalesce(o.shipping_city, ''),
            'delivery_region', coalesce(o.shipping_state, ''),
            'delivery_country', coalesce(o.shipping_country_iso2, ''),
            'delivery_postcode', coalesce(o.shipping_zip, '')),
        'products', coalesce(li.products, [])
    ) AS json
FROM orders o
CROSS JOIN store s
LEFT JOIN line_items li ON li.order_id = o.id
"""

INSERT_OUTBOUND_SQL = f"""
INSERT INTO dotmailer.outbound_orders
SELECT key, email_key, email, json, md5(key || '|' || email || '|' || json::VARCHAR) AS hash, now() AS built_at
FROM ({RECORDS_SQL})
"""

INSERT_REJECTED_SQL = """
INSERT INTO dotmailer.rejected_orders
SELECT key, email_key, email, rejected_reason, now() FROM changed_orders WHERE rejected_reason IS NOT NULL
"""

# What every record depends on besides its order: how orders become records, and the store's name.
FINGERPRINT_SQL = "SELECT md5(? || '|' || coalesce(any_value(name), '')) FROM bigcommerce.store"


@contextmanager
def joins_built_as_written(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Build each hash join's table from the side the SQL joins in (the customers, the contacts), not the orders.

    DuckDB expects few orders to pass the listing filters and builds from them instead, every column of every order:
    80 to 100 MiB of hash tables at 300,000 orders, where built as written they took 36 MiB and the whole build fit
    under half the warehouse's cap. The setting is the DuckDB instance's, so the one before is put back.
    """
    [(disabled,)] = conn.execute("SELECT current_setting('disabled_optimizers')").fetchall()
    conn.execute(f"SET disabled_optimizers = '{','.join(filter(None, [disabled, 'build_side_probe_side']))}'")
    try:
        yield
    finally:
        conn.execute(f"SET disabled_optimizers = '{disabled}'")


def build_order_insight(conn: duckdb.DuckDBPyConnection, *, batch_orders: int = BATCH_ORDERS) -> None:
    """Bring the outbound and rejected orders up to date in one transaction; needs transform/contacts built first.

    Everything is rebuilt when there is no earlier build or what every record depends on changed.
    """
    ensure_deleted_records(conn)
    with building(conn, "the Orders Insight records"), joins_built_as_written(conn), transaction(conn):
        conn.execute(BUILDS_DDL)
        [(fingerprint,)] = conn.execute(FINGERPRINT_SQL, [ORDER_CONTACTS_SQL + INSERT_OUTBOUND_SQL]).fetchall()
        previous = conn.execute(
            "SELECT built_at FROM dotmailer.transform_builds WHERE transform = ? AND fingerprint = ?",
            [TRANSFORM, fingerprint],
        ).fetchall()
        since = previous[0][0] if previous else None
        if since is None:
            # Tables from an older release may have other columns; nothing of them is kept anyway.
            conn.execute("DROP TABLE IF EXISTS dotmailer.outbound_orders")
            conn.execute("DROP TABLE IF EXISTS dotmailer.rejected_orders")
        conn.execute(OUTBOUND_DDL)
        conn.execute(REJECTED_DDL)
        conn.execute(ORDER_CONTACTS_SQL)
        conn.execute(CHANGED_ORDERS_SQL, {"since": since})
        for table in ("dotmailer.outbound_orders", "dotmailer.rejected_orders"):
            conn.execute(
                f"""DELETE FROM {table} t WHERE t.key IN (SELECT key FROM changed_orders)
                    OR NOT EXISTS (SELECT 1 FROM order_contacts c WHERE c.key = t.key)"""
            )
        for low, high in conn.execute(BATCH_BOUNDS_SQL, {"size": batch_orders}).fetchall():
            conn.execute(BATCH_SQL, {"low": low, "high": high})
            conn.execute(INSERT_OUTBOUND_SQL)
        conn.execute(INSERT_REJECTED_SQL)
        # now() is when this transaction began: every row staged before it was seen here, and nothing is staged
        # meanwhile (one DuckDB writer), so the next build need only look at rows staged from then on.
        conn.execute(
            "INSERT OR REPLACE INTO dotmailer.transform_builds VALUES (?, now(), ?)", [TRANSFORM, fingerprint]
        )
