"""Group `transform`: SQL in DuckDB from staging to what dotmailer should hold."""

import dagster as dg

from bc_pipeline.assets.preview import markdown_table, table_preview
from bc_pipeline.resources import ConnectorSettingsResource, WarehouseResource
from bc_pipeline.transform.contacts import CUSTOMERS_BOOK, SUBSCRIBERS_BOOK, VALID_EMAIL, build_contacts
from bc_pipeline.warehouse import transform_memory_limit


@dg.asset(
    key=["transform", "contacts"],
    group_name="transform",
    kinds={"duckdb", "sql"},
    pool="duckdb",
    deps=[["bigcommerce", name] for name in ("customers", "subscribers", "orders", "store")],
    description="One row per email (customers, guest buyers, subscribers) with mapped data fields, "
    "and the outbound rows of each address book.",
)
def transform_contacts(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                       connector: ConnectorSettingsResource) -> dg.MaterializeResult:
    settings = connector.load()
    books = {CUSTOMERS_BOOK: bool(settings.customers_address_book),
             SUBSCRIBERS_BOOK: bool(settings.subscribers_address_book)}
    with warehouse.connect(memory_cap=transform_memory_limit()) as conn:
        build_contacts(conn, settings.field_mapping, books)
        contacts, rejected = conn.execute(
            "SELECT count(*), count(rejected_reason) FROM dotmailer.contacts").fetchone()
        per_book = dict(conn.execute("SELECT book, count(*) FROM dotmailer.outbound_contacts GROUP BY book").fetchall())
        reasons = conn.execute(
            "SELECT reason, count(*) AS contacts FROM dotmailer.rejected_contacts GROUP BY reason ORDER BY 2 DESC"
        ).fetchall()
        preview = table_preview(conn, "dotmailer.outbound_contacts")
    if rejected:
        context.log.warning(f"{rejected} contacts rejected; see dotmailer.rejected_contacts")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(contacts),
        "rejected": dg.MetadataValue.int(rejected),
        "rejected_reasons": dg.MetadataValue.md(
            markdown_table(["reason", "contacts"], reasons) if rejected else "_none_"),
        **{f"outbound_{book}": dg.MetadataValue.int(per_book.get(book, 0)) for book in books},
        "preview": dg.MetadataValue.md(preview),
    })


def _failed_rows(conn, sql: str) -> int:
    return conn.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec("outbound_keys_unique", asset=["transform", "contacts"], blocking=True),
        dg.AssetCheckSpec("outbound_emails_valid", asset=["transform", "contacts"], blocking=True),
        dg.AssetCheckSpec("subscribers_have_consent", asset=["transform", "contacts"], blocking=True),
    ],
    pool="duckdb",
)
def outbound_contact_checks(warehouse: WarehouseResource):
    """Stop a load that would send duplicates, invalid emails, or subscribers without consent."""
    checks = {
        "outbound_keys_unique": "SELECT book, email_key FROM dotmailer.outbound_contacts GROUP BY ALL HAVING count(*) > 1",
        "outbound_emails_valid": f"SELECT * FROM dotmailer.outbound_contacts WHERE NOT regexp_full_match(email, '{VALID_EMAIL}')",
        "subscribers_have_consent": f"""SELECT o.* FROM dotmailer.outbound_contacts o JOIN dotmailer.contacts c USING (email_key)
            WHERE o.book = '{SUBSCRIBERS_BOOK}' AND NOT c.has_consent""",
    }
    with warehouse.connect() as conn:
        for name, sql in checks.items():
            failing = _failed_rows(conn, sql)
            yield dg.AssetCheckResult(check_name=name, asset_key=["transform", "contacts"], passed=failing == 0,
                                      severity=dg.AssetCheckSeverity.ERROR, metadata={"failing_rows": failing})
