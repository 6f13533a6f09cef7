"""The DuckDB warehouse: the `bigcommerce` staging schema (a contract the data team queries), the
extraction progress in `bigcommerce.sync_state`, and the page upsert every stream goes through.

Staging tables keep the API's field names. Each row of a stream's table carries the record's raw JSON and when
it was staged; typed columns are projected from the raw JSON by DuckDB, never by Python loops. A child table
(addresses, line items) keeps no raw JSON of its own: its records are inside their parent's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from bc_pipeline.record_slices import record_slices

SCHEMA = "bigcommerce"

MONEY = "DECIMAL(18,4)"

# RFC 2822 as v2 sends it, with and without the weekday and seconds, numeric offset or zone name (GMT).
RFC2822_FORMATS = (
    "%a, %d %b %Y %H:%M:%S %z",
    "%d %b %Y %H:%M:%S %z",
    "%a, %d %b %Y %H:%M %z",
    "%d %b %Y %H:%M %z",
    "%a, %d %b %Y %H:%M:%S %Z",
    "%d %b %Y %H:%M:%S %Z",
)


# Column expressions name JSON fields as {{json:path}}; the projection reads them all with one
# json_extract_string call per record, so each record's JSON is parsed once, not once per column.
FIELD_TOKEN = re.compile(r"\{\{json:([^}]+)\}\}")


def field(path: str) -> str:
    return "{{json:%s}}" % path


def text(path: str) -> str:
    return field(path)


def cast(path: str, sql_type: str) -> str:
    return f"TRY_CAST({field(path)} AS {sql_type})"


def json_list(path: str, element_type: str) -> str:
    return f"TRY_CAST(TRY_CAST({field(path)} AS JSON) AS {element_type}[])"


def iso8601(path: str) -> str:
    return f"TRY_CAST(NULLIF({field(path)}, '') AS TIMESTAMPTZ)"


def rfc2822(path: str) -> str:
    formats = ", ".join(f"'{fmt}'" for fmt in RFC2822_FORMATS)
    return f"TRY_STRPTIME(NULLIF(TRIM({field(path)}), ''), [{formats}])"


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    expression: str


@dataclass(frozen=True)
class StagingTable:
    """A staging table and how its columns come out of one record's `raw` JSON.

    A child table (addresses, line items) also names its `parent` table, `records`: where its records sit in the
    parent's raw JSON, as paths of field names in which `name[*]` steps into each element of a list (a child's records
    may sit in several places), and `parent_column`: its column holding the parent's id (`parent_id` in SQL).
    """

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    parent: StagingTable | None = None
    records: tuple[str, ...] = ()
    parent_column: str | None = None

    @property
    def qualified(self) -> str:
        return f"{SCHEMA}.{self.name}"

    def ddl(self) -> str:
        columns = [f"{c.name} {c.sql_type}" for c in self.columns]
        # A child's JSON is already in its parent's raw JSON. Copies of the line items were a third of the JSON
        # staged at the benchmark's default store, written, checkpointed and held in memory a second time.
        columns += ([] if self.parent else ["raw JSON NOT NULL"]) + ["staged_at TIMESTAMPTZ NOT NULL"]
        return f"CREATE TABLE IF NOT EXISTS {self.qualified} ({', '.join(columns)}, PRIMARY KEY ({', '.join(self.key)}))"

    def projection(self, source: str) -> str:
        """SELECT the typed columns, `raw` and `staged_at` from `source` (which has a JSON column `raw`)."""
        json_paths, reading = _fields_reader(self.columns, "fields")
        selected = ", ".join(f"{reading(c.expression)} AS {c.name}" for c in self.columns)
        return (
            f"SELECT {selected}, raw, now() AS staged_at "
            f"FROM (SELECT *, json_extract_string(raw, {json_paths}) AS fields FROM {source})"
        )

    def child_rows(self, parents: str) -> str:
        """SELECT this child table's rows out of the raw JSON of `parents` (with columns `id` and `raw`), one per
        key.

        json_transform reads each parent's JSON once, into just the fields the columns read, as text (what
        json_extract_string gives). Extracting the children as JSON first parsed the parent's JSON once per place
        they sit, then each child's JSON again: staging the line items of two pages of orders held some 18 MiB
        more, for the same CPU."""
        record, reading = _struct_reader(self.columns, "r")
        shape: dict = {}
        for path in self.records:
            shape = _merged_shapes(shape, _shape_at(path, record))
        lists = ", ".join(_list_at("p", path) for path in self.records)
        selected = ", ".join(f"{reading(c.expression)} AS {c.name}" for c in self.columns)
        shape_sql = json.dumps(shape).replace("'", "''")
        return (
            f"SELECT {selected}, now() AS staged_at FROM (SELECT parent_id, unnest(flatten([{lists}])) AS r "
            f"FROM (SELECT id AS parent_id, json_transform(raw, '{shape_sql}') AS p FROM {parents})) "
            f"QUALIFY row_number() OVER (PARTITION BY {', '.join(self.key)} ORDER BY 1) = 1"
        )

    def fill_from_raw(self, columns: tuple[Column, ...]) -> str:
        """UPDATE `columns` from the raw JSON of the rows with rowid from $low to $high (for a child table, of its
        parent's rows), each row's JSON parsed once for them all."""
        if self.parent:
            parents = f"(SELECT id, raw FROM {self.parent.qualified} WHERE rowid BETWEEN $low AND $high)"
            match = " AND ".join(f"{self.qualified}.{k} = c.{k}" for k in self.key)
            assignments = ", ".join(f"{c.name} = c.{c.name}" for c in columns)
            return f"UPDATE {self.qualified} SET {assignments} FROM ({self.child_rows(parents)}) c WHERE {match}"
        json_paths, reading = _fields_reader(columns, "f.fields")
        assignments = ", ".join(f"{c.name} = {reading(c.expression)}" for c in columns)
        return (
            f"UPDATE {self.qualified} SET {assignments} "
            f"FROM (SELECT rowid AS row_id, json_extract_string(raw, {json_paths}) AS fields FROM {self.qualified} "
            f"WHERE rowid BETWEEN $low AND $high) f "
            f"WHERE {self.qualified}.rowid = f.row_id"
        )

    def raw_ranges(self) -> str:
        """The rowid ranges (low, high) of the table holding the raw JSON (for a child table, its parent) over which
        the rows' raw JSON adds up to about $chars characters each."""
        holder = (self.parent or self).qualified
        return (
            f"SELECT min(rowid), max(rowid) FROM (SELECT rowid, sum(length(raw)) OVER (ORDER BY rowid) // $chars "
            f"AS part FROM {holder}) GROUP BY part ORDER BY 1"
        )


def _field_paths(columns: tuple[Column, ...]) -> list[str]:
    """The JSON paths `columns` read, each once, in the order they first appear."""
    return list(dict.fromkeys(path for column in columns for path in FIELD_TOKEN.findall(column.expression)))


def _fields_reader(columns: tuple[Column, ...], fields: str) -> tuple[str, Callable[[str], str]]:
    """The JSON paths `columns` read, as one DuckDB list, and how an expression reads its fields from the list
    `fields` (json_extract_string of that list): one parse of the record serves every column."""
    paths = _field_paths(columns)

    def reading(expression: str) -> str:
        return FIELD_TOKEN.sub(lambda match: f"{fields}[{paths.index(match.group(1)) + 1}]", expression)

    return "[" + ", ".join(f"'$.{path}'" for path in paths) + "]", reading


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _struct_reader(columns: tuple[Column, ...], record: str) -> tuple[dict, Callable[[str], str]]:
    """The json_transform structure holding the fields `columns` read (dotted paths nest), each as text, and how an
    expression reads its fields from the struct `record` it gives."""
    shape: dict = {}
    for path in _field_paths(columns):
        shape = _merged_shapes(shape, _shape_at(path, "VARCHAR"))

    def reading(expression: str) -> str:
        return FIELD_TOKEN.sub(
            lambda match: record + "".join(f".{_identifier(name)}" for name in match.group(1).split(".")), expression
        )

    return shape, reading


def _shape_at(path: str, value: dict | str) -> dict:
    """The json_transform structure that reaches `value` at `path` (field names; `name[*]`: each element of a list)."""
    for step in reversed(path.split(".")):
        name = step.removesuffix("[*]")
        if "[" in name:
            # A structure can only say "every element"; an index would silently read nothing.
            raise ValueError(f"a child table can read a JSON path with no index but [*], not {path!r}")
        value = {name: [value] if step.endswith("[*]") else value}
    return value


def _merged_shapes(one: dict | list | str, other: dict | list | str) -> dict | list | str:
    if isinstance(one, dict) and isinstance(other, dict):
        return {key: _merged_shapes(one[key], other[key]) if key in one and key in other
                else one.get(key, other.get(key)) for key in one | other}
    if isinstance(one, list) and isinstance(other, list):
        return [_merged_shapes(one[0], other[0])]
    if one != other:
        raise ValueError(f"a JSON field is read both as {one!r} and as {other!r}")
    return one


def _list_at(struct: str, path: str, depth: int = 0) -> str:
    """SQL for the list of values at `path` (which ends with `[*]`) in the struct `struct` that json_transform gave;
    NULL where a step along it is missing."""
    step, _, rest = path.partition(".")
    value = f"{struct}.{_identifier(step.removesuffix('[*]'))}"
    if not rest:
        return value
    if not step.endswith("[*]"):
        return _list_at(value, rest, depth)
    element = f"x{depth}"
    return f"flatten(list_transform({value}, lambda {element}: {_list_at(element, rest, depth + 1)}))"


FORM_FIELDS = "STRUCT(name VARCHAR, value VARCHAR)"
ATTRIBUTES = "STRUCT(attribute_id BIGINT, attribute_value VARCHAR)"
APPLIED_DISCOUNT = f"STRUCT(id VARCHAR, amount {MONEY}, name VARCHAR, code VARCHAR, target VARCHAR)"

CUSTOMERS = StagingTable(
    "customers",
    ("id",),
    (
        Column("id", "BIGINT NOT NULL", cast("id", "BIGINT")),
        Column("email", "VARCHAR", text("email")),
        Column("first_name", "VARCHAR", text("first_name")),
        Column("last_name", "VARCHAR", text("last_name")),
        Column("company", "VARCHAR", text("company")),
        Column("phone", "VARCHAR", text("phone")),
        Column("customer_group_id", "BIGINT", cast("customer_group_id", "BIGINT")),
        Column("notes", "VARCHAR", text("notes")),
        Column("tax_exempt_category", "VARCHAR", text("tax_exempt_category")),
        Column("registration_ip_address", "VARCHAR", text("registration_ip_address")),
        Column("accepts_product_review_abandoned_cart_emails", "BOOLEAN",
               cast("accepts_product_review_abandoned_cart_emails", "BOOLEAN")),
        Column("origin_channel_id", "BIGINT", cast("origin_channel_id", "BIGINT")),
        Column("channel_ids", "BIGINT[]", json_list("channel_ids", "BIGINT")),
        Column("address_count", "INTEGER", cast("address_count", "INTEGER")),
        Column("attribute_count", "INTEGER", cast("attribute_count", "INTEGER")),
        # Typed here, while the page is parsed anyway: a customer with many addresses is a large JSON record, too
        # much to parse again for every customer when contacts are built.
        Column("form_fields", f"{FORM_FIELDS}[]", json_list("form_fields", FORM_FIELDS)),
        Column("attributes", f"{ATTRIBUTES}[]", json_list("attributes", ATTRIBUTES)),
        Column("date_created", "TIMESTAMPTZ", iso8601("date_created")),
        Column("date_modified", "TIMESTAMPTZ", iso8601("date_modified")),
    ),
)

CUSTOMER_ADDRESSES = StagingTable(
    "customer_addresses",
    ("customer_id", "id"),
    (
        Column("customer_id", "BIGINT NOT NULL", "parent_id"),
        Column("id", "BIGINT NOT NULL", cast("id", "BIGINT")),
        Column("first_name", "VARCHAR", text("first_name")),
        Column("last_name", "VARCHAR", text("last_name")),
        Column("company", "VARCHAR", text("company")),
        Column("address1", "VARCHAR", text("address1")),
        Column("address2", "VARCHAR", text("address2")),
        Column("city", "VARCHAR", text("city")),
        Column("state_or_province", "VARCHAR", text("state_or_province")),
        Column("postal_code", "VARCHAR", text("postal_code")),
        Column("country", "VARCHAR", text("country")),
        Column("country_code", "VARCHAR", text("country_code")),
        Column("phone", "VARCHAR", text("phone")),
        Column("address_type", "VARCHAR", text("address_type")),
    ),
    parent=CUSTOMERS,
    records=("addresses[*]",),
    parent_column="customer_id",
)

SUBSCRIBERS = StagingTable(
    "subscribers",
    ("id",),
    (
        Column("id", "BIGINT NOT NULL", cast("id", "BIGINT")),
        Column("email", "VARCHAR", text("email")),
        Column("first_name", "VARCHAR", text("first_name")),
        Column("last_name", "VARCHAR", text("last_name")),
        Column("source", "VARCHAR", text("source")),
        Column("order_id", "BIGINT", cast("order_id", "BIGINT")),
        Column("channel_id", "BIGINT", cast("channel_id", "BIGINT")),
        Column("consents", "VARCHAR[]", f"COALESCE({json_list('consents', 'VARCHAR')}, [])"),
        Column("marketing_newsletter", "BOOLEAN",
               f"list_contains(COALESCE({json_list('consents', 'VARCHAR')}, []), 'marketing_newsletter')"),
        Column("date_created", "TIMESTAMPTZ", iso8601("date_created")),
        Column("date_modified", "TIMESTAMPTZ", iso8601("date_modified")),
    ),
)

ORDER_MONEY_FIELDS = (
    "subtotal_ex_tax", "subtotal_inc_tax", "subtotal_tax", "base_shipping_cost", "shipping_cost_ex_tax",
    "shipping_cost_inc_tax", "shipping_cost_tax", "base_handling_cost", "handling_cost_ex_tax",
    "handling_cost_inc_tax", "handling_cost_tax", "base_wrapping_cost", "wrapping_cost_ex_tax",
    "wrapping_cost_inc_tax", "wrapping_cost_tax", "total_ex_tax", "total_inc_tax", "total_tax",
    "discount_amount", "coupon_discount", "store_credit_amount", "gift_certificate_amount", "refunded_amount",
)

ORDERS = StagingTable(
    "orders",
    ("id",),
    (
        Column("id", "BIGINT NOT NULL", cast("id", "BIGINT")),
        Column("customer_id", "BIGINT", cast("customer_id", "BIGINT")),
        Column("status_id", "INTEGER", cast("status_id", "INTEGER")),
        Column("status", "VARCHAR", text("status")),
        Column("is_deleted", "BOOLEAN", f"COALESCE({cast('is_deleted', 'BOOLEAN')}, false)"),
        Column("billing_email", "VARCHAR", text("billing_address.email")),
        Column("billing_first_name", "VARCHAR", text("billing_address.first_name")),
        Column("billing_last_name", "VARCHAR", text("billing_address.last_name")),
        Column("billing_street_1", "VARCHAR", text("billing_address.street_1")),
        Column("billing_street_2", "VARCHAR", text("billing_address.street_2")),
        Column("billing_city", "VARCHAR", text("billing_address.city")),
        Column("billing_state", "VARCHAR", text("billing_address.state")),
        Column("billing_zip", "VARCHAR", text("billing_address.zip")),
        Column("billing_country_iso2", "VARCHAR", text("billing_address.country_iso2")),
        # The first shipping consignment: where Insight's order record says the order went. Typed here, while the
        # page is parsed anyway, so building order records never parses an order's raw JSON again.
        *(Column(f"shipping_{name}", "VARCHAR", text(f"consignments.shipping[0].{name}"))
          for name in ("street_1", "street_2", "city", "state", "zip", "country_iso2")),
        Column("shipping_method", "VARCHAR", text("consignments.shipping[0].shipping_method")),
        Column("date_created", "TIMESTAMPTZ", rfc2822("date_created")),
        Column("date_modified", "TIMESTAMPTZ", rfc2822("date_modified")),
        Column("date_shipped", "TIMESTAMPTZ", rfc2822("date_shipped")),
        Column("cart_id", "VARCHAR", text("cart_id")),
        Column("channel_id", "BIGINT", cast("channel_id", "BIGINT")),
        Column("order_source", "VARCHAR", text("order_source")),
        Column("payment_method", "VARCHAR", text("payment_method")),
        Column("payment_status", "VARCHAR", text("payment_status")),
        Column("currency_code", "VARCHAR", text("currency_code")),
        Column("default_currency_code", "VARCHAR", text("default_currency_code")),
        Column("items_total", "INTEGER", cast("items_total", "INTEGER")),
        Column("items_shipped", "INTEGER", cast("items_shipped", "INTEGER")),
        Column("is_email_opt_in", "BOOLEAN", cast("is_email_opt_in", "BOOLEAN")),
        *(Column(name, MONEY, cast(name, MONEY)) for name in ORDER_MONEY_FIELDS),
        # Exchange rates carry more places than money does.
        Column("currency_exchange_rate", "DECIMAL(20,10)", cast("currency_exchange_rate", "DECIMAL(20,10)")),
    ),
)

# With consignment_structure=object the line items sit in each consignment of every kind.
ORDER_LINE_ITEMS = StagingTable(
    "order_line_items",
    ("order_id", "id"),
    (
        Column("order_id", "BIGINT NOT NULL", "parent_id"),
        Column("id", "BIGINT NOT NULL", cast("id", "BIGINT")),
        Column("product_id", "BIGINT", cast("product_id", "BIGINT")),
        Column("variant_id", "BIGINT", cast("variant_id", "BIGINT")),
        Column("name", "VARCHAR", text("name")),
        Column("sku", "VARCHAR", text("sku")),
        Column("type", "VARCHAR", text("type")),
        Column("quantity", "INTEGER", cast("quantity", "INTEGER")),
        Column("quantity_shipped", "INTEGER", cast("quantity_shipped", "INTEGER")),
        Column("quantity_refunded", "INTEGER", cast("quantity_refunded", "INTEGER")),
        Column("base_price", MONEY, cast("base_price", MONEY)),
        Column("price_ex_tax", MONEY, cast("price_ex_tax", MONEY)),
        Column("price_inc_tax", MONEY, cast("price_inc_tax", MONEY)),
        Column("price_tax", MONEY, cast("price_tax", MONEY)),
        Column("base_total", MONEY, cast("base_total", MONEY)),
        Column("total_ex_tax", MONEY, cast("total_ex_tax", MONEY)),
        Column("total_inc_tax", MONEY, cast("total_inc_tax", MONEY)),
        Column("total_tax", MONEY, cast("total_tax", MONEY)),
        # Coupon codes travel on the lines' discounts, not on the order.
        Column("applied_discounts", f"{APPLIED_DISCOUNT}[]", json_list("applied_discounts", APPLIED_DISCOUNT)),
    ),
    parent=ORDERS,
    # Every kind of consignment the API documents (orderConsignment_Get).
    records=tuple(f"consignments.{kind}[*].line_items[*]"
                  for kind in ("shipping", "pickups", "downloads", "email.gift_certificates")),
    parent_column="order_id",
)

PRODUCTS = StagingTable(
    "products",
    ("id",),
    (
        Column("id", "BIGINT NOT NULL", cast("id", "BIGINT")),
        Column("name", "VARCHAR", text("name")),
        Column("type", "VARCHAR", text("type")),
        Column("sku", "VARCHAR", text("sku")),
        Column("is_visible", "BOOLEAN", cast("is_visible", "BOOLEAN")),
        Column("is_featured", "BOOLEAN", cast("is_featured", "BOOLEAN")),
        Column("availability", "VARCHAR", text("availability")),
        Column("categories", "INTEGER[]", f"COALESCE({json_list('categories', 'INTEGER')}, [])"),
        Column("brand_id", "BIGINT", cast("brand_id", "BIGINT")),
        Column("custom_url", "VARCHAR", text("custom_url.url")),
        Column("price", MONEY, cast("price", MONEY)),
        Column("sale_price", MONEY, cast("sale_price", MONEY)),
        Column("retail_price", MONEY, cast("retail_price", MONEY)),
        Column("cost_price", MONEY, cast("cost_price", MONEY)),
        Column("calculated_price", MONEY, cast("calculated_price", MONEY)),
        Column("inventory_level", "BIGINT", cast("inventory_level", "BIGINT")),
        Column("total_sold", "BIGINT", cast("total_sold", "BIGINT")),
        # What the catalogue sends besides the typed fields above, typed here while the page is parsed anyway: a
        # product with a long description and many images can be hundreds of KB of JSON, too much to parse again
        # for a whole catalogue.
        Column("description", "VARCHAR", text("description")),
        Column("images", "JSON[]", f"COALESCE({json_list('images', 'JSON')}, [])"),
        Column("date_created", "TIMESTAMPTZ", iso8601("date_created")),
        Column("date_modified", "TIMESTAMPTZ", iso8601("date_modified")),
    ),
)

STORE = StagingTable(
    "store",
    ("id",),
    (
        Column("id", "VARCHAR NOT NULL", text("id")),
        Column("store_id", "BIGINT", cast("store_id", "BIGINT")),
        Column("name", "VARCHAR", text("name")),
        Column("domain", "VARCHAR", text("domain")),
        Column("secure_url", "VARCHAR", text("secure_url")),
        Column("admin_email", "VARCHAR", text("admin_email")),
        Column("order_email", "VARCHAR", text("order_email")),
        Column("currency", "VARCHAR", text("currency")),
        Column("language", "VARCHAR", text("language")),
        Column("timezone", "VARCHAR", text("timezone.name")),
        Column("plan_name", "VARCHAR", text("plan_name")),
    ),
)

STAGING_TABLES = (CUSTOMERS, CUSTOMER_ADDRESSES, SUBSCRIBERS, ORDERS, ORDER_LINE_ITEMS, PRODUCTS, STORE)

SYNC_STATE_DDL = f"""
CREATE TABLE IF NOT EXISTS {SCHEMA}.sync_state (
    stream VARCHAR PRIMARY KEY,
    watermark TIMESTAMPTZ,
    window_start TIMESTAMPTZ,
    window_end TIMESTAMPTZ,
    resume_after VARCHAR,
    last_run_started TIMESTAMPTZ,
    last_run_finished TIMESTAMPTZ,
    rows_last_run BIGINT,
    requests_last_run BIGINT,
    rate_limited_last_run BIGINT
)"""


def run_sql(conn: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[tuple]:
    """Execute and drain the result, so the connection is free for the next statement of any kind."""
    return conn.execute(sql, params).fetchall()


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One DuckDB transaction around the block: committed if the block ends normally, else rolled back."""
    run_sql(conn, "BEGIN TRANSACTION")
    try:
        yield
        run_sql(conn, "COMMIT")
    except BaseException:
        # A failed COMMIT has already rolled back; there is then nothing left to undo.
        with contextlib.suppress(duckdb.Error):
            run_sql(conn, "ROLLBACK")
        raise


@contextmanager
def lists_as_table(conn: duckdb.DuckDBPyConnection, name: str,
                   columns: Mapping[str, tuple[str, list]]) -> Iterator[None]:
    """Equal-length Python lists as the temp table `name` while the block runs: column -> (SQL type, values).

    DuckDB zips the lists itself (one unnest per column), so a report of thousands of outcomes reaches SQL without a
    data-frame library, which would cost every run its import time and memory."""
    selected = ", ".join(
        f"unnest($c{index}::{sql_type}[]) AS {column}" for index, (column, (sql_type, _)) in enumerate(columns.items())
    )
    values = {f"c{index}": column_values for index, (_, column_values) in enumerate(columns.values())}
    run_sql(conn, f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {selected}", values)
    try:
        yield
    finally:
        run_sql(conn, f"DROP TABLE IF EXISTS temp.{name}")


class TransformTooLarge(Exception):
    """A transform that needs more memory than DuckDB's limit gives it."""


class LoadTooLarge(Exception):
    """A dotmailer load that needs more memory than DuckDB's limit gives it."""


@contextmanager
def within_memory_limit(conn: duckdb.DuckDBPyConnection, doing: str, kept: str,
                        error: type[Exception]) -> Iterator[None]:
    """Turn DuckDB running out of memory into `error`, which names what ran out, the limit, what to raise and what
    was kept (`kept`), where DuckDB's own message would suggest settings the pipeline sets itself."""
    try:
        yield
    except duckdb.OutOfMemoryException as out_of_memory:
        raise error(
            f"{doing} needed more than DuckDB's memory limit of {duckdb_memory_limit(conn)}. {raise_the_limit(kept)}"
        ) from out_of_memory


def raise_the_limit(kept: str) -> str:
    """What a store owner does when a step runs out of DuckDB's memory, and what the failed step left (`kept`)."""
    return f"Set {MEMORY_LIMIT_VARIABLE} higher (for example 1GB) and run the sync again; {kept}"


# A transform's joins, sorts and window functions keep state per thread, and not all of it spills. Building the
# contacts of 100,000 customers (the larger benchmark store) needs 160-192MB on two threads and 64-96MB on one, and
# its Orders build fails under 128MB on two threads, not on one. On one thread the transforms fit under the same
# share of the cap as the extraction, which takes 70-85 MiB off their peak at the default and larger stores, for
# about 1 s more on that store's contacts and 2-3 s on its orders. Beyond what fits, DuckDB spills: 300,000
# customers with 900,000 orders still build on one thread under 160MB (in 21 s, against 15 s on two under 256MB).
@contextmanager
def building(conn: duckdb.DuckDBPyConnection, what: str) -> Iterator[None]:
    """Run a transform's statements on one DuckDB thread, then give the connection back its own setting. A build
    that runs out of memory raises TransformTooLarge, which says what to raise; what it wrote is rolled back."""
    [(threads,)] = run_sql(conn, "SELECT current_setting('threads')")
    run_sql(conn, "SET threads = 1")
    try:
        with within_memory_limit(conn, f"building {what}", "the last build is kept and nothing of this one was sent.",
                                 TransformTooLarge):
            yield
    finally:
        run_sql(conn, f"SET threads = {int(threads)}")


# DuckDB's defaults are sized for a dedicated analytics box: 80% of RAM and a thread per core. Left so, the
# warehouse keeps as much of the store in memory as it has read, and the sync's memory grows with the store.
# Capped, DuckDB spills large intermediates to disk instead.
DEFAULT_MEMORY_LIMIT = "256MB"
MEMORY_LIMIT_VARIABLE = "BC_PIPELINE_DUCKDB_MEMORY_LIMIT"
MEMORY_LIMIT = re.compile(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)
# The pipeline's queries are small next to its API waits; more threads would only add per-thread buffers.
DUCKDB_THREADS = 2
# Upserts append to a table's last row group, and each checkpoint writes that whole group again, raw JSON and
# all. At DuckDB's default of 122,880 rows the group grows with the store. At one vector (the smallest DuckDB
# allows) a checkpoint rewrites at most 2,048 orders: against 16,384 rows, extracting 30,000 orders peaks about
# 55 MiB lower for 10% less CPU, and 300,000 orders take 16% less CPU.
ROW_GROUP_SIZE = 2_048
# The extraction holds a page being parsed and the row groups being written. With row groups this small it
# spills little under a lower cap. At the larger benchmark store, 5/8 of the warehouse's cap took 90 MiB off its
# peak for 8% more CPU, and half of it (128MB) a further 12 to 20 MiB for the same CPU. At the default store
# half was within the spread, for about 3% more CPU: DuckDB evicts and reloads blocks.
EXTRACTION_MEMORY_SHARE = 1 / 2
# The SQL transforms run on one thread (see `building`), under half the cap since the Orders build's joins are built
# as written (`joins_built_as_written`). At the larger benchmark store that took 30 MiB off the Orders build's peak
# and about 1 s more on its contacts; under 5/8 DuckDB filled the cap with cached blocks, so the build's peak grew
# with the store.
TRANSFORM_MEMORY_SHARE = 1 / 2
# Parsing a page's JSON takes DuckDB about 12 times the page's size (the parsed document, then each record again),
# so a page larger than this fraction of the memory limit is staged in slices: 4MB under the extraction's default
# cap.
STAGING_SLICE_FRACTION = 32


# The dotmailer loads read what they send once, in order, so a cache helps them little; under the full cap DuckDB
# keeps everything they read, which made the Orders load the sync's peak at 300,000 orders. At 128MB that load
# peaked about 120 MiB lower for the same CPU. At 96MB, 3/8 of the cap, a whole sync at that store peaked 373 MiB
# against 395 to 398 (two pairs); it ran out of memory there until the import rows lost their keys (see
# `drop_primary_key`).
LOAD_MEMORY_SHARE = 3 / 8
SIZE_UNITS = {"kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
              "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_limit() -> str:
    """DuckDB's memory limit: $BC_PIPELINE_DUCKDB_MEMORY_LIMIT (for example 1GB), else 256MB."""
    value = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip() or DEFAULT_MEMORY_LIMIT
    if not MEMORY_LIMIT.fullmatch(value):
        raise ValueError(f"{MEMORY_LIMIT_VARIABLE}={value!r} is not a size such as 512MB or 2GB")
    return value


def extraction_memory_limit() -> str:
    """The extraction's memory limit: half the warehouse's (128MB of the default 256MB), so raising the warehouse's
    limit for a store of very large records raises it too."""
    return _share(EXTRACTION_MEMORY_SHARE)


def transform_memory_limit() -> str:
    """The SQL transforms' memory limit: half the warehouse's (128MB of the default 256MB)."""
    return _share(TRANSFORM_MEMORY_SHARE)


def _share(share: float) -> str:
    return f"{int(_size_bytes(memory_limit()) * share) // SIZE_UNITS['mb']}MB"


def load_memory_limit() -> str:
    """The dotmailer loads' memory limit: 3/8 of the warehouse's (96MB of the default 256MB), so a load that runs out
    of memory can be given more."""
    return _share(LOAD_MEMORY_SHARE)


def duckdb_memory_limit(conn: duckdb.DuckDBPyConnection) -> str:
    """The memory limit DuckDB applies on this connection, as it reports it (128MB shows as 122.0 MiB)."""
    return run_sql(conn, "SELECT current_setting('memory_limit')")[0][0]


# What DuckDB keeps cached once `release_cached_blocks` has run: a load streams one chunk at a time through its
# outbound table, so the blocks of the chunks sent are never read again.
RELEASED_CACHE_LIMIT = "32MB"


def release_cached_blocks(conn: duckdb.DuckDBPyConnection) -> None:
    """Evict the table blocks DuckDB keeps cached, down to RELEASED_CACHE_LIMIT, and set its memory limit back.

    DuckDB keeps every block a scan reads until its memory limit forces it out, so a load that reads a large table
    once holds most of it by the end. Lowering the limit is what evicts them.
    """
    limit = duckdb_memory_limit(conn)
    # While open queries hold more than the floor (a load of the larger benchmark store's 275,000 orders does),
    # DuckDB refuses it and keeps its limit, but only after evicting every block it could.
    with contextlib.suppress(duckdb.OutOfMemoryException):
        run_sql(conn, f"SET memory_limit = '{RELEASED_CACHE_LIMIT}'")
    run_sql(conn, f"SET memory_limit = '{limit}'")


def _parse_chars(limit: str) -> int:
    """How much JSON, in characters, DuckDB is given to parse at once under the memory limit `limit`."""
    return int(_size_bytes(limit)) // STAGING_SLICE_FRACTION


def _size_bytes(size: str) -> float:
    unit = MEMORY_LIMIT.fullmatch(size).group(2)
    return float(size[: -len(unit)]) * SIZE_UNITS[unit.lower()]


def open_warehouse(path: str | Path, *, memory_cap: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open (or create) the warehouse file with every staging table; safe to call on every run.

    DuckDB holds at most `memory_cap` (default: `memory_limit()`) and spills to disk beyond it, into `<path>.tmp`.
    """
    config = {"memory_limit": memory_cap or memory_limit(), "threads": DUCKDB_THREADS}
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # The host is an in-memory database, whose spill directory would be `.tmp` in whatever directory the
        # process runs from; beside the warehouse, spills stay with the data on the disk sized for it.
        config["temp_directory"] = f"{path}.tmp"
    conn = duckdb.connect(config=config)
    # The row group size is an ATTACH option only, so the file is attached to an in-memory host. Detaching the
    # host's own database makes the warehouse the default of every cursor made from this connection.
    _attach(conn, str(path))
    conn.execute("DETACH memory")
    # A capped DuckDB spills long queries to disk; their progress bars would land in the run's output.
    conn.execute("SET enable_progress_bar = false")
    ensure_schema(conn)
    return conn


def _attach(conn: duckdb.DuckDBPyConnection, path: str) -> None:
    conn.execute(f"ATTACH ? AS warehouse (ROW_GROUP_SIZE {ROW_GROUP_SIZE})", [path])
    conn.execute("USE warehouse")


# `bc-pipeline status` opens the file read-only for a moment, and may do so just while it is detached.
REATTACH_LOCK_WAIT_S = 30.0


def attach_when_unlocked(conn: duckdb.DuckDBPyConnection, path: str, wait_s: float = REATTACH_LOCK_WAIT_S) -> None:
    """Attach the warehouse file, waiting up to `wait_s` for another process that holds it to let go."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            _attach(conn, path)
            return
        except duckdb.IOException as error:
            if "Could not set lock" not in str(error):
                raise
            if time.monotonic() >= deadline:
                error.add_note(f"another process held the warehouse file for over {wait_s:g} s while it was being "
                               "attached again")
                raise
        time.sleep(0.05)


def reattach_warehouse(conn: duckdb.DuckDBPyConnection) -> None:
    """Detach the warehouse file and attach it again, on the same connection; its cursors and their temporary
    tables stay. No cursor of the connection may be in a transaction: DuckDB would keep the file open for it and
    refuse to attach it again.

    DuckDB keeps what it knows of every row group written or read since the file was attached (a few KB a column
    each, outside its memory limit) until it is detached; attached again, it reads a table's row groups only as
    queries reach them, and of those only the columns they touch. An in-memory warehouse is left as it is: detached,
    it would be gone."""
    [(path,)] = run_sql(conn, "SELECT path FROM duckdb_databases() WHERE database_name = 'warehouse'")
    if not path:
        return
    run_sql(conn, "ATTACH ':memory:' AS reattaching")
    run_sql(conn, "USE reattaching")
    try:
        run_sql(conn, "DETACH warehouse")
    except duckdb.Error:
        run_sql(conn, "USE warehouse")
        run_sql(conn, "DETACH reattaching")
        raise
    attach_when_unlocked(conn, path)
    run_sql(conn, "DETACH reattaching")


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    run_sql(conn, f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
    for table in STAGING_TABLES:
        run_sql(conn, table.ddl())
    existing = set(
        run_sql(conn, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ?", [SCHEMA])
    )
    for table in STAGING_TABLES:
        # Columns added in a later release join an older file's table, filled from the raw JSON (a child's from its
        # parent's).
        added = tuple(column for column in table.columns if (table.name, column.name) not in existing)
        for column in added:
            bare_type = column.sql_type.replace(" NOT NULL", "")
            run_sql(conn, f"ALTER TABLE {table.qualified} ADD COLUMN {column.name} {bare_type}")
        if added:
            # A range at a time, as pages are staged: parsing every row's JSON at once needs memory large records
            # do not leave under the cap.
            chars = _parse_chars(duckdb_memory_limit(conn))
            for low, high in run_sql(conn, table.raw_ranges(), {"chars": chars}):
                run_sql(conn, table.fill_from_raw(added), {"low": low, "high": high})
        if table.parent and (table.name, "raw") in existing:
            # Files from before children stopped keeping a copy of their JSON; their parents still hold it.
            run_sql(conn, f"ALTER TABLE {table.qualified} DROP COLUMN raw")
    run_sql(conn, SYNC_STATE_DDL)


class RecordsTooLarge(Exception):
    """Records whose JSON DuckDB cannot parse under its memory limit."""


def stage_pages(
    cur: duckdb.DuckDBPyConnection,
    table: StagingTable,
    children: tuple[StagingTable, ...],
    pages: Sequence[bytes],
    records_path: str,
    *,
    memory_limit: str | None = None,
    new_records: bool = False,
) -> int:
    """Upsert pages of records (response bodies as received, UTF-8) into `table` and its children.

    Runs inside the caller's transaction. Per id the newest `date_modified` wins: a record older than
    the stored one is ignored, together with its children; an equal or newer one replaces the stored
    row and all its children. Returns how many records were staged (a record on two of the pages counts once).

    Pages whose JSON together fits what DuckDB parses at once under its memory limit (`_parse_chars`) are staged
    in one statement per step; otherwise one at a time, and a page too large alone in slices of its records. A
    record that does not fit even alone raises RecordsTooLarge naming it (the caller's transaction then stages
    nothing). A caller staging many pages passes `memory_limit` (as `duckdb_memory_limit` reports it) to spare a
    query each, and `new_records` when it knows that none of the records is stored: they are then inserted without
    looking for stored versions.
    """
    limit = memory_limit or duckdb_memory_limit(cur)
    max_chars = _parse_chars(limit)
    # Bodies are measured in bytes, which are at least the characters `_parse_chars` counts.
    if sum(map(len, pages)) > max_chars:
        if len(pages) > 1:
            return sum(stage_pages(cur, table, children, [page], records_path, memory_limit=limit,
                                   new_records=new_records) for page in pages)
        return sum(
            _stage_records(cur, table, children, [piece.text.encode()], "$[*]", limit, new_records, ids=piece.ids)
            for piece in record_slices(pages[0].decode(), records_path, max_chars)
        )
    return _stage_records(cur, table, children, pages, records_path, limit, new_records)


def _stage_records(cur, table: StagingTable, children: tuple[StagingTable, ...], bodies: Sequence[bytes],
                   records_path: str, limit: str, new_records: bool, *, ids: tuple | None = None) -> int:
    try:
        return _upsert_records(cur, table, children, bodies, records_path, new_records)
    except duckdb.OutOfMemoryException as error:
        size = f"{sum(map(len, bodies)) / 2**20:.1f} MiB of JSON"
        if not ids:
            which = f"a page of {size}" if len(bodies) == 1 else f"{len(bodies)} pages of {size}"
        elif len(ids) == 1:
            which = f"the record with id {ids[0]} ({size})"
        else:
            which = f"{len(ids)} records with ids from {ids[0]} to {ids[-1]} ({size})"
        raise RecordsTooLarge(
            f"{which} could not be staged into {table.qualified} under DuckDB's memory limit of {limit}. "
            + raise_the_limit("the pages staged before this one are kept.")
        ) from error


def _upsert_records(cur, table: StagingTable, children: tuple[StagingTable, ...], bodies: Sequence[bytes],
                    records_path: str, new_records: bool) -> int:
    key = ", ".join(table.key)
    versioned = any(c.name == "date_modified" for c in table.columns)
    newest_first = "date_modified DESC NULLS LAST" if versioned else "1"
    # The records go from the bodies to typed rows in one statement: json_extract parses (and so checks) a body
    # once, where a JSON cast first and a table of its records after cost another parse and a copy of the page.
    # Each body is a parameter of its own. Joined into one JSON array, two pages of orders took 5 MiB more, and the
    # statement parsing them a fifth more CPU; as one list parameter, pages cost about 2 s more system CPU at the
    # default store.
    lists = ", ".join([f"json_extract(decode(?), '{records_path}')"] * len(bodies))
    records = f"(SELECT unnest({lists if len(bodies) == 1 else f'list_concat({lists})'}) AS raw)"
    run_sql(cur, f"CREATE OR REPLACE TEMP TABLE page_rows AS {table.projection(records)}", list(bodies))
    staged, distinct = run_sql(cur, f"SELECT count(*), count(DISTINCT ({key})) FROM page_rows")[0]
    if distinct < staged:
        # A record listed twice is staged once, in its newest version. Numbering rows costs a tenth of a page's
        # staging, so only a page that needs it pays for it.
        staged -= run_sql(
            cur,
            "DELETE FROM page_rows WHERE rowid IN (SELECT rowid FROM page_rows "
            f"QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {newest_first}) > 1)",
        )[0][0]
    match = " AND ".join(f"s.{k} = t.{k}" for k in table.key)
    stored_newer = "t.date_modified > s.date_modified" if versioned else "false"
    # Every join with the stored table reads the key of each stored row (30 ms a batch at 300,000 orders), and of
    # each row group the block holding it (see `bigcommerce.staged_ids`). One join counts the batch's stored records
    # and, of those, the ones stored in a newer version; each delete runs only when it has rows to remove. Records
    # the caller knows to be new take no join.
    stored, stale = (0, 0) if new_records else run_sql(
        cur,
        f"SELECT count(*), count(*) FILTER (WHERE {stored_newer}) FROM page_rows s JOIN {table.qualified} t ON {match}",
    )[0]
    if stale:
        staged -= run_sql(
            cur, f"DELETE FROM page_rows s USING {table.qualified} t WHERE {match} AND {stored_newer}"
        )[0][0]
    replaced = 0
    if stored > stale:
        replaced = run_sql(
            cur, f"DELETE FROM {table.qualified} t WHERE EXISTS (SELECT 1 FROM page_rows s WHERE {match})"
        )[0][0]
    run_sql(cur, f"INSERT INTO {table.qualified} BY NAME SELECT * FROM page_rows")
    for child in children:
        # Children are only ever staged and removed with their parent, so records new to the table have none, and
        # their delete reads the key of every stored child (50 ms a batch at 300,000 orders).
        if replaced:
            run_sql(cur, f"DELETE FROM {child.qualified} WHERE {child.parent_column} IN (SELECT id FROM page_rows)")
        run_sql(cur, f"INSERT INTO {child.qualified} BY NAME {child.child_rows('page_rows')}")
    return staged


@dataclass(frozen=True)
class SyncState:
    stream: str
    watermark: datetime | None
    window_start: datetime | None
    window_end: datetime | None
    resume_after: str | None


def read_sync_state(cur: duckdb.DuckDBPyConnection, stream: str) -> SyncState:
    rows = run_sql(
        cur, f"SELECT watermark, window_start, window_end, resume_after FROM {SCHEMA}.sync_state WHERE stream = ?", [stream]
    )
    return SyncState(stream, *rows[0]) if rows else SyncState(stream, None, None, None, None)


def mark_run_started(cur: duckdb.DuckDBPyConnection, stream: str, started: datetime) -> None:
    run_sql(
        cur,
        f"INSERT INTO {SCHEMA}.sync_state (stream, last_run_started) VALUES (?, ?) "
        "ON CONFLICT (stream) DO UPDATE SET last_run_started = excluded.last_run_started",
        [stream, started],
    )


def save_progress(
    cur: duckdb.DuckDBPyConnection,
    stream: str,
    *,
    window_start: datetime | None,
    window_end: datetime | None,
    resume_after: str | None,
    watermark: datetime | None = None,
) -> None:
    """Record where the open window's scan stands; with `watermark`, also move the watermark."""
    run_sql(
        cur,
        f"UPDATE {SCHEMA}.sync_state SET window_start = ?, window_end = ?, resume_after = ?, "
        "watermark = COALESCE(?, watermark) WHERE stream = ?",
        [window_start, window_end, resume_after, watermark, stream],
    )


def mark_run_finished(
    cur: duckdb.DuckDBPyConnection, stream: str, finished: datetime, *, rows: int, requests: int, rate_limited: int
) -> None:
    run_sql(
        cur,
        f"UPDATE {SCHEMA}.sync_state SET last_run_finished = ?, rows_last_run = ?, requests_last_run = ?, "
        "rate_limited_last_run = ? WHERE stream = ?",
        [finished, rows, requests, rate_limited, stream],
    )
