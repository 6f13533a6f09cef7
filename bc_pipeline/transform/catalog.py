"""The product catalogue for dotmailer's account-scoped Insight collection `Catalog_Default`, built in DuckDB SQL.

`dotmailer.outbound_catalog` holds one record per visible product (key = product id) with its JSON and a hash.
A product that is hidden, gone from staging, or tombstoned in `bigcommerce.deleted_records` is not in it, so
the load deletes it from the collection.

Field names and types follow Dotdigital's own Magento connector; every field keeps one JSON type (dotmailer fixes
a collection's schema from its first records). The description is sent as plain text: email templates insert it
as text, where markup would show as tags, and cutting HTML at 1000 characters would leave broken elements.
"""

from __future__ import annotations

import duckdb

from bc_pipeline.transform.deleted_records import ensure_deleted_records
from bc_pipeline.warehouse import building

# Dotdigital's connector cuts descriptions to 1000 characters (its DM_FIELD_LIMIT).
DESCRIPTION_LIMIT = 1000

HTML_ENTITIES = (("&nbsp;", " "), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&#39;", "'"), ("&amp;", "&"))


def plain_text_sql(html: str) -> str:
    """SQL turning an HTML fragment into one line of text: no scripts, styles or tags, entities decoded."""
    text = f"regexp_replace({html}, '(?is)<(script|style)\\b.*?</(script|style)\\s*>', ' ', 'g')"
    text = f"regexp_replace({text}, '<[^>]*>', ' ', 'g')"
    # &amp; last, so "&amp;lt;" stays the literal text "&lt;".
    for entity, character in HTML_ENTITIES:
        text = f"replace({text}, '{entity}', '{character.replace(chr(39), chr(39) * 2)}')"
    return f"trim(regexp_replace({text}, '\\s+', ' ', 'g'))"


CATALOG_SQL = f"""
CREATE OR REPLACE TABLE dotmailer.outbound_catalog AS
WITH
store AS (SELECT rtrim(coalesce(any_value(secure_url), ''), '/') AS base_url FROM bigcommerce.store),
visible AS (
    SELECT p.*
    FROM bigcommerce.products p
    WHERE p.is_visible
      AND NOT EXISTS (SELECT 1 FROM bigcommerce.deleted_records d WHERE d.stream = 'products' AND d.id = p.id)
),
records AS (
    SELECT
        p.id::VARCHAR AS key,
        json_object(
            'id', p.id::VARCHAR,
            'name', coalesce(p.name, ''),
            'sku', coalesce(p.sku, ''),
            'type', coalesce(p.type, ''),
            'price', coalesce(p.price, 0)::DOUBLE,
            'specialPrice', coalesce(p.sale_price, 0)::DOUBLE,
            'url', CASE
                WHEN coalesce(p.custom_url, '') = '' THEN ''
                WHEN regexp_matches(p.custom_url, '^https?://') THEN p.custom_url
                ELSE s.base_url || '/' || ltrim(p.custom_url, '/')
            END,
            'imagePath', coalesce(
                list_filter(p.images, lambda i: coalesce(TRY_CAST(i->>'is_thumbnail' AS BOOLEAN), false))[1]
                    ->>'url_standard',
                p.images[1]->>'url_standard',
                ''),
            -- Objects, not bare ids, so names can join later without changing a field's type.
            'categories', list_transform(coalesce(p.categories, []), lambda c: json_object('Id', c::VARCHAR)),
            'brand', json_object('Id', coalesce(nullif(p.brand_id, 0)::VARCHAR, '')),
            'stock', coalesce(p.inventory_level, 0),
            'description', left({plain_text_sql("coalesce(p.description, '')")}, {DESCRIPTION_LIMIT}),
            'created_date', coalesce(strftime(p.date_created AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ'), '')
        ) AS json
    FROM visible p
    CROSS JOIN store s
)
SELECT key, json, md5(key || '|' || json::VARCHAR) AS hash FROM records
"""


def build_catalog(conn: duckdb.DuckDBPyConnection) -> None:
    ensure_deleted_records(conn)
    with building(conn, "the catalogue"):
        conn.execute(CATALOG_SQL)
