"""Order history and product catalogue as dotmailer Insight data: the SQL transforms, their checks, the loads."""

import dagster as dg

from bc_pipeline.assets.preview import markdown_table, table_preview
from bc_pipeline.load.insight import (
    CATALOG_COLLECTION,
    ORDERS_COLLECTION,
    InsightCollection,
    InsightLoadResult,
    load_insight,
)
from bc_pipeline.resources import DotmailerResource, WarehouseResource
from bc_pipeline.transform.catalog import build_catalog
from bc_pipeline.transform.contacts import VALID_EMAIL
from bc_pipeline.transform.order_insight import build_order_insight
from bc_pipeline.warehouse import duckdb_memory_limit, load_memory_limit, transform_memory_limit

ORDER_INSIGHT = dg.AssetKey(["transform", "order_insight"])
CATALOG = dg.AssetKey(["transform", "catalog"])


@dg.asset(
    key=ORDER_INSIGHT,
    group_name="transform",
    kinds={"duckdb", "sql"},
    pool="duckdb",
    deps=[["bigcommerce", name] for name in ("orders", "products", "store")] + [["transform", "contacts"]],
    description="One Insight record per completed, unarchived order, attached to its customer's or guest's email.",
)
def transform_order_insight(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(memory_cap=transform_memory_limit()) as conn:
        build_order_insight(conn)
        outbound = conn.execute("SELECT count(*) FROM dotmailer.outbound_orders").fetchone()[0]
        reasons = conn.execute(
            "SELECT reason, count(*) AS orders FROM dotmailer.rejected_orders GROUP BY reason ORDER BY 2 DESC"
        ).fetchall()
        preview = table_preview(conn, "dotmailer.outbound_orders")
    rejected = sum(orders for _, orders in reasons)
    if rejected:
        context.log.warning(f"{rejected} orders not sent to Insight; see dotmailer.rejected_orders")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(outbound),
        "rejected": dg.MetadataValue.int(rejected),
        "rejected_reasons": dg.MetadataValue.md(
            markdown_table(["reason", "orders"], reasons) if rejected else "_none_"),
        "preview": dg.MetadataValue.md(preview),
    })


@dg.asset(
    key=CATALOG,
    group_name="transform",
    kinds={"duckdb", "sql"},
    pool="duckdb",
    deps=[["bigcommerce", "products"], ["bigcommerce", "store"]],
    description="One Insight record per visible product; hidden and deleted products are left out.",
)
def transform_catalog(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(memory_cap=transform_memory_limit()) as conn:
        build_catalog(conn)
        outbound = conn.execute("SELECT count(*) FROM dotmailer.outbound_catalog").fetchone()[0]
        preview = table_preview(conn, "dotmailer.outbound_catalog")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(outbound),
        "preview": dg.MetadataValue.md(preview),
    })


def _failing_rows(conn, sql: str) -> int:
    return conn.execute(f"SELECT count(*) FROM ({sql})").fetchone()[0]


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec("outbound_keys_unique", asset=ORDER_INSIGHT, blocking=True),
        dg.AssetCheckSpec("outbound_emails_valid", asset=ORDER_INSIGHT, blocking=True),
        dg.AssetCheckSpec("outbound_keys_unique", asset=CATALOG, blocking=True),
    ],
    pool="duckdb",
    can_subset=True,
)
def outbound_insight_checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
    """Stop an Insight load that would send one key twice, or attach an order to an invalid email."""
    duplicate_keys = "SELECT key FROM {} GROUP BY key HAVING count(*) > 1"
    checks = {
        (ORDER_INSIGHT, "outbound_keys_unique"): duplicate_keys.format("dotmailer.outbound_orders"),
        (ORDER_INSIGHT, "outbound_emails_valid"): f"""SELECT key FROM dotmailer.outbound_orders
            WHERE email IS NULL OR NOT regexp_full_match(email, '{VALID_EMAIL}')""",
        (CATALOG, "outbound_keys_unique"): duplicate_keys.format("dotmailer.outbound_catalog"),
    }
    selected = context.selected_asset_check_keys
    with warehouse.connect() as conn:
        for (asset, name), sql in checks.items():
            if dg.AssetCheckKey(asset, name) not in selected:
                continue
            failing = _failing_rows(conn, sql)
            yield dg.AssetCheckResult(check_name=name, asset_key=asset, passed=failing == 0,
                                      severity=dg.AssetCheckSeverity.ERROR, metadata={"failing_rows": failing})


def _load_metadata(result: InsightLoadResult, held: int) -> dict:
    return {
        "insight_enabled": result.insight_enabled,
        "records_in_collection": dg.MetadataValue.int(held),
        "sent": result.sent,
        "imported": result.imported,
        "deleted": result.deleted,
        "failed": result.failed,
        "failure_reasons": dg.MetadataValue.json(result.failure_reasons),
        "still_importing": result.pending,
        "resumed_imports": result.resumed_imports,
        "import_ids": dg.MetadataValue.json(result.import_ids),
    }


def _load(context, collection: InsightCollection, dotmailer: DotmailerResource,
          warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(memory_cap=load_memory_limit()) as conn:
        result = load_insight(conn, dotmailer.client(), collection, poll_interval=dotmailer.import_poll_seconds)
        held = conn.execute(
            "SELECT count(*) FROM dotmailer.insight_records WHERE collection = ?", [collection.name]
        ).fetchone()[0]
        cap = duckdb_memory_limit(conn)
    if not result.insight_enabled:
        feature = "Insight data"
        if collection.scope == "account":
            feature += " and account Insight (AccountInsight)"
        context.log.warning(
            f"{collection.name} was not loaded: {feature} is not enabled on this dotmailer account "
            f"({result.disabled_reason}). Ask your Dotdigital account manager to enable {feature}. The records are "
            "kept and will be sent by the first sync after it is enabled; contacts are synced meanwhile."
        )
    if result.failed:
        context.log.warning(f"{result.failed} {collection.name} records failed: {result.failure_reasons}; "
                            "see dotmailer.insight_failures")
    context.log.info(f"{collection.name}: sent {result.sent}, imported {result.imported}, deleted {result.deleted}")
    return dg.MaterializeResult(metadata={**_load_metadata(result, held), "duckdb_memory_limit": cap})


@dg.asset(key=["dotmailer", "orders_insight"], group_name="dotmailer", kinds={"python"}, pool="duckdb",
          # An order attaches to a contact that must exist already, so the books load first.
          deps=[ORDER_INSIGHT, ["dotmailer", "customers_book"], ["dotmailer", "subscribers_book"]],
          description="The contact-scoped Insight collection Orders: each contact's order history.")
def orders_insight(context: dg.AssetExecutionContext, dotmailer: DotmailerResource,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _load(context, ORDERS_COLLECTION, dotmailer, warehouse)


@dg.asset(key=["dotmailer", "catalog_insight"], group_name="dotmailer", kinds={"python"}, pool="duckdb",
          deps=[CATALOG],
          description="The account-scoped Insight collection Catalog_Default: every visible product.")
def catalog_insight(context: dg.AssetExecutionContext, dotmailer: DotmailerResource,
                    warehouse: WarehouseResource) -> dg.MaterializeResult:
    return _load(context, CATALOG_COLLECTION, dotmailer, warehouse)
