"""Contacts: every person the store knows, one row per email, and what each address book should hold.

Everything here is SQL run in DuckDB over the `bigcommerce` staging tables:
- `dotmailer.contacts`: registered customers, guest buyers (billing email of guest orders) and
  subscribers merged by trimmed, lower-cased email, with order-history figures.
- `dotmailer.rejected_contacts`: emails that cannot be sent, with the reason.
- `dotmailer.outbound_contacts`: per address book role, the data fields to send and their hash.
"""

from __future__ import annotations

import duckdb

from bc_pipeline.transform.contact_sources import ATTRIBUTE_PREFIX, CONTACT_SOURCES, FORM_FIELD_PREFIX, contact_source
from bc_pipeline.warehouse import building, transaction

CUSTOMERS_BOOK = "customers"
SUBSCRIBERS_BOOK = "subscribers"

# Deliberately permissive (plus signs, quotes in the local part, unicode domains pass); it only
# keeps out what dotmailer would reject anyway, so the reason is recorded here rather than lost
# in an import report.
VALID_EMAIL = r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$"

CONTACTS_SQL = r"""
CREATE OR REPLACE TABLE dotmailer.contacts AS
WITH
first_address AS (
    SELECT * FROM bigcommerce.customer_addresses
    QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY id) = 1
),
customers AS (
    SELECT lower(trim(c.email)) AS email_key, trim(c.email) AS email, c.id AS customer_id,
           nullif(trim(c.first_name), '') AS first_name, nullif(trim(c.last_name), '') AS last_name,
           nullif(trim(c.company), '') AS company, nullif(trim(c.phone), '') AS phone,
           c.customer_group_id, nullif(c.notes, '') AS notes, c.origin_channel_id, c.date_created, c.date_modified,
           a.address1, a.address2, a.city, a.state_or_province AS state, a.postal_code AS postcode,
           a.country, a.country_code, c.form_fields, c.attributes
    FROM bigcommerce.customers c
    LEFT JOIN first_address a ON a.customer_id = c.id
    WHERE coalesce(trim(c.email), '') <> ''
    QUALIFY row_number() OVER (PARTITION BY lower(trim(c.email)) ORDER BY c.date_modified DESC, c.id DESC) = 1
),
counted_orders AS (
    -- Incomplete (status 0) and archived orders are not purchases.
    SELECT o.*, lower(trim(coalesce(c.email, o.billing_email))) AS email_key
    FROM bigcommerce.orders o
    LEFT JOIN bigcommerce.customers c ON o.customer_id <> 0 AND c.id = o.customer_id
    WHERE o.status_id <> 0 AND NOT o.is_deleted
),
order_stats AS (
    SELECT email_key, count(*) AS order_count, sum(total_inc_tax) AS total_spend,
           round(avg(total_inc_tax), 2) AS average_order_value,
           min(date_created) AS first_order_date, max(date_created) AS last_order_date,
           arg_max(id, (coalesce(date_created, date_modified), id)) AS last_order_id
    FROM counted_orders WHERE coalesce(email_key, '') <> ''
    GROUP BY email_key
),
guests AS (
    -- arg_max skips rows whose ordering value is NULL, so an order without a date still counts.
    SELECT email_key,
           arg_max(trim(billing_email), (coalesce(date_created, date_modified), id)) AS email,
           arg_max(nullif(trim(billing_first_name), ''), (coalesce(date_created, date_modified), id)) AS first_name,
           arg_max(nullif(trim(billing_last_name), ''), (coalesce(date_created, date_modified), id)) AS last_name
    FROM counted_orders
    WHERE customer_id = 0 AND coalesce(email_key, '') <> ''
    GROUP BY email_key
),
subscribers AS (
    SELECT lower(trim(email)) AS email_key, trim(email) AS email,
           nullif(trim(first_name), '') AS first_name, nullif(trim(last_name), '') AS last_name,
           marketing_newsletter, date_modified AS consent_date
    FROM bigcommerce.subscribers
    WHERE coalesce(trim(email), '') <> ''
    QUALIFY row_number() OVER (PARTITION BY lower(trim(email)) ORDER BY date_modified DESC, id DESC) = 1
),
emails AS (
    SELECT email_key FROM customers UNION SELECT email_key FROM guests UNION SELECT email_key FROM subscribers
)
SELECT
    e.email_key,
    coalesce(c.email, s.email, g.email) AS email,
    c.customer_id,
    coalesce(c.first_name, s.first_name, g.first_name) AS first_name,
    coalesce(c.last_name, s.last_name, g.last_name) AS last_name,
    nullif(trim(concat_ws(' ', coalesce(c.first_name, s.first_name, g.first_name),
                               coalesce(c.last_name, s.last_name, g.last_name))), '') AS full_name,
    c.company, c.phone, c.customer_group_id, c.notes, c.origin_channel_id, c.date_created, c.date_modified,
    CASE WHEN c.customer_id IS NOT NULL THEN 'customer' WHEN g.email_key IS NOT NULL THEN 'guest'
         ELSE 'subscriber' END AS contact_type,
    c.address1, c.address2, c.city, c.state, c.postcode, c.country, c.country_code, c.form_fields, c.attributes,
    coalesce(st.order_count, 0) AS order_count,
    coalesce(st.total_spend, 0) AS total_spend,
    coalesce(st.average_order_value, 0) AS average_order_value,
    st.first_order_date, st.last_order_date, st.last_order_id,
    coalesce(s.marketing_newsletter, false) AS has_consent,
    s.consent_date,
    CASE WHEN s.marketing_newsletter THEN 'subscribed' WHEN s.email_key IS NOT NULL THEN 'unsubscribed'
         ELSE 'not subscribed' END AS subscriber_status,
    (SELECT any_value(name) FROM bigcommerce.store) AS store_name,
    CASE
        WHEN length(coalesce(c.email, s.email, g.email)) > 254 THEN 'email is longer than 254 characters'
        WHEN regexp_matches(coalesce(c.email, s.email, g.email), '[\x00-\x1f\x7f]') THEN 'email contains control characters'
        WHEN NOT regexp_full_match(coalesce(c.email, s.email, g.email), $valid_email$) THEN 'email is not a valid address'
    END AS rejected_reason
FROM emails e
LEFT JOIN customers c USING (email_key)
LEFT JOIN subscribers s USING (email_key)
LEFT JOIN guests g USING (email_key)
LEFT JOIN order_stats st USING (email_key)
"""

REJECTED_SQL = """
CREATE OR REPLACE TABLE dotmailer.rejected_contacts AS
SELECT email_key, email, customer_id, contact_type, rejected_reason AS reason, now() AS rejected_at
FROM dotmailer.contacts WHERE rejected_reason IS NOT NULL
"""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _field_value(source: str) -> str:
    """SQL for one data field's value, in the form dotmailer expects for its type."""
    if source.startswith(FORM_FIELD_PREFIX):
        name = _sql_string(source.removeprefix(FORM_FIELD_PREFIX))
        return f"left(list_filter(form_fields, lambda f: f.name = {name})[1].value, 255)"
    if source.startswith(ATTRIBUTE_PREFIX):
        attribute_id = int(source.removeprefix(ATTRIBUTE_PREFIX))
        return f"left(list_filter(attributes, lambda a: a.attribute_id = {attribute_id})[1].attribute_value, 255)"
    data_type = CONTACT_SOURCES[source].data_type
    if data_type == "Date":
        return f"strftime({source} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ')"
    if data_type == "String":
        # dotmailer's text fields hold 255 characters.
        return f"left({source}::VARCHAR, 255)"
    if data_type == "Numeric":
        return f"{source}::DOUBLE"
    return source


def data_fields_sql(mapping: dict[str, str]) -> str:
    """A JSON object of the mapped data fields; an unmapped field is absent, so it is left alone."""
    if not mapping:
        return "'{}'::JSON"
    pairs = ", ".join(f"{_sql_string(target)}, {_field_value(source)}" for target, source in sorted(mapping.items()))
    return f"json_object({pairs})"


def outbound_sql(mapping: dict[str, str], books: dict[str, bool]) -> str:
    fields = data_fields_sql(mapping)
    selects = []
    if books.get(CUSTOMERS_BOOK):
        selects.append(f"SELECT '{CUSTOMERS_BOOK}' AS book, * FROM sendable")
    if books.get(SUBSCRIBERS_BOOK):
        selects.append(f"SELECT '{SUBSCRIBERS_BOOK}' AS book, * FROM sendable WHERE has_consent")
    body = " UNION ALL ".join(selects) or "SELECT NULL::VARCHAR AS book, * FROM sendable WHERE false"
    return f"""
CREATE OR REPLACE TABLE dotmailer.outbound_contacts AS
WITH sendable AS (
    -- A dotmailer suppression wins, in every book, unless the shopper opted in again after it.
    SELECT email_key, email, customer_id, has_consent, consent_date, {fields} AS data_fields
    FROM dotmailer.contacts c
    WHERE rejected_reason IS NULL
      AND NOT EXISTS (SELECT 1 FROM dotmailer.suppressions x
                      WHERE x.email_key = c.email_key
                        AND (NOT c.has_consent OR coalesce(c.consent_date <= x.date_removed, true)))
)
SELECT book, email_key, email, customer_id, data_fields, md5(book || email || data_fields::VARCHAR) AS hash
FROM ({body})
"""


def build_contacts(conn: duckdb.DuckDBPyConnection, mapping: dict[str, str], books: dict[str, bool]) -> None:
    """Rebuild contacts, rejections and outbound rows in one transaction."""
    unknown = sorted(source for source in mapping.values() if contact_source(source) is None)
    if unknown:
        raise ValueError(f"field mapping names unknown source(s): {', '.join(unknown)}")
    with building(conn, "contacts"), transaction(conn):
        conn.execute(CONTACTS_SQL.replace("$valid_email$", f"'{VALID_EMAIL}'"))
        conn.execute(REJECTED_SQL)
        conn.execute(outbound_sql(mapping, books))
