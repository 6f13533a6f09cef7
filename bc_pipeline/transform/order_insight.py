"""Order history for dotmailer's contact-scoped Insight collection `Orders`, built in DuckDB SQL.

- `dotmailer.outbound_orders`: one record per completed, unarchived order: key = order id, the contact's email,
  the record's JSON and a hash of what is sent.
- `dotmailer.rejected_orders`: orders that cannot be attached to a contact, with the reason.

Field names and JSON types follow Dotdigital's own Magento connector (ids as strings, money as numbers), so
Dotdigital's order features read these records as they read its own. dotmailer fixes a collection's schema from
the first records it receives, so every field always has one JSON type: strings are "" rather than null,
numbers 0, lists [].
"""

from __future__ import annotations

import duckdb

from bc_pipeline.transform.deleted_records import ensure_deleted_records
from bc_pipeline.warehouse import transaction

ORDERS_SOURCE_SQL = r"""
CREATE OR REPLACE TEMP TABLE order_insight_source AS
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
               list_transform(coalesce(TRY_CAST(l.raw->'$.applied_discounts' AS JSON[]), []), lambda d: d->>'code'),
               lambda code: coalesce(code, '') <> ''))))) AS coupon_codes
    FROM bigcommerce.order_line_items l
    LEFT JOIN bigcommerce.products p ON p.id = l.product_id
    GROUP BY l.order_id
),
orders AS (
    SELECT o.*,
           -- The same contact as transform/contacts gives the order: the customer's email, else the billing one.
           lower(trim(coalesce(c.email, o.billing_email))) AS email_key,
           trim(coalesce(c.email, o.billing_email)) AS order_email,
           o.raw->'$.billing_address' AS billing,
           o.raw->'$.consignments.shipping[0]' AS delivery
    FROM bigcommerce.orders o
    LEFT JOIN bigcommerce.customers c ON o.customer_id <> 0 AND c.id = o.customer_id
    WHERE o.status_id <> 0 AND NOT o.is_deleted
      AND NOT EXISTS (SELECT 1 FROM bigcommerce.deleted_records d WHERE d.stream = 'orders' AND d.id = o.id)
)
SELECT
    o.id::VARCHAR AS key,
    o.email_key,
    coalesce(k.email, o.order_email) AS email,
    CASE
        WHEN coalesce(o.email_key, '') = '' THEN 'order has no contact email'
        WHEN r.email_key IS NOT NULL THEN 'contact email rejected: ' || r.reason
    END AS rejected_reason,
    json_object(
        'id', o.id::VARCHAR,
        'email', coalesce(k.email, o.order_email, ''),
        'storeName', s.store_name,
        'purchaseDate', coalesce(strftime(o.date_created AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), ''),
        'orderStatus', coalesce(o.status, ''),
        'currency', coalesce(o.currency_code, ''),
        'orderSubtotal', coalesce(o.subtotal_ex_tax, 0)::DOUBLE,
        'discountAmount', (coalesce(o.discount_amount, 0) + coalesce(o.coupon_discount, 0))::DOUBLE,
        'deliveryTotal', coalesce(o.shipping_cost_inc_tax, 0)::DOUBLE,
        'orderTotal', coalesce(o.total_inc_tax, 0)::DOUBLE,
        'payment', coalesce(o.payment_method, ''),
        'deliveryMethod', coalesce(o.delivery->>'$.shipping_method', ''),
        'couponCode', array_to_string(coalesce(li.coupon_codes, []), ','),
        'billingAddress', json_object(
            'billing_address_1', coalesce(o.billing->>'$.street_1', ''),
            'billing_address_2', coalesce(o.billing->>'$.street_2', ''),
            'billing_city', coalesce(o.billing->>'$.city', ''),
            'billing_region', coalesce(o.billing->>'$.state', ''),
            'billing_country', coalesce(o.billing->>'$.country_iso2', ''),
            'billing_postcode', coalesce(o.billing->>'$.zip', '')),
        'deliveryAddress', json_object(
            'delivery_address_1', coalesce(o.delivery->>'$.street_1', ''),
            'delivery_address_2', coalesce(o.delivery->>'$.street_2', ''),
            'delivery_city', coalesce(o.delivery->>'$.city', ''),
            'delivery_region', coalesce(o.delivery->>'$.state', ''),
            'delivery_country', coalesce(o.delivery->>'$.country_iso2', ''),
            'delivery_postcode', coalesce(o.delivery->>'$.zip', '')),
        'products', coalesce(li.products, [])
    ) AS json
FROM orders o
CROSS JOIN store s
LEFT JOIN line_items li ON li.order_id = o.id
LEFT JOIN dotmailer.contacts k ON k.email_key = o.email_key
LEFT JOIN dotmailer.rejected_contacts r ON r.email_key = o.email_key
"""

OUTBOUND_ORDERS_SQL = """
CREATE OR REPLACE TABLE dotmailer.outbound_orders AS
SELECT key, email_key, email, json, md5(key || '|' || email || '|' || json::VARCHAR) AS hash
FROM order_insight_source WHERE rejected_reason IS NULL
"""

REJECTED_ORDERS_SQL = """
CREATE OR REPLACE TABLE dotmailer.rejected_orders AS
SELECT key, email_key, email, rejected_reason AS reason, now() AS rejected_at
FROM order_insight_source WHERE rejected_reason IS NOT NULL
"""


def build_order_insight(conn: duckdb.DuckDBPyConnection) -> None:
    """Rebuild the outbound and rejected orders in one transaction; needs transform/contacts built first."""
    ensure_deleted_records(conn)
    with transaction(conn):
        conn.execute(ORDERS_SOURCE_SQL)
        conn.execute(OUTBOUND_ORDERS_SQL)
        conn.execute(REJECTED_ORDERS_SQL)
