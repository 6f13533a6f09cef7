"""Group `bigcommerce`: one asset per stream, staged into DuckDB schema `bigcommerce`.

The four dated streams share one multi-asset so that they run concurrently, in one process, under
the one shared BigCommerce quota; each is still its own asset, selectable and materialized alone.
"""

from datetime import datetime, timezone

import dagster as dg
from pydantic import Field

from bc_pipeline.assets.partitions import daily_partitions, partition_window
from bc_pipeline.assets.preview import table_preview
from bc_pipeline.bigcommerce.extract import StreamResult, extract_stream, extract_streams
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline.enrolment.inbox import open_inbox
from bc_pipeline.resources import BigCommerceResource, WarehouseResource
from bc_pipeline.tombstones import apply_inbox_deletions
from bc_pipeline.warehouse import duckdb_memory_limit, extraction_memory_limit

DATED_STREAMS = ("customers", "subscribers", "orders", "products")

# Metadata of a stream that stopped at a long wait for the quota: a run with `finish_stopped` is due, from the time
# the quota refills.
MORE_TO_READ = "more_to_read"
QUOTA_REFILLS_AT = "quota_refills_at"

_DESCRIPTIONS = {
    "customers": "Registered customers (v3) with their addresses, form fields and attributes.",
    "subscribers": "Newsletter subscribers (v3) with their consents; not all are customers.",
    "orders": "Orders (v2) with their line items inline; guest orders carry the billing email.",
    "products": "The whole catalogue (v3), hidden products included.",
}


class ExtractConfig(dg.Config):
    full: bool = Field(default=False, description="Ignore watermarks and re-read each stream's whole history.")
    stop_at_quota_wait_s: float | None = Field(
        default=None, gt=0,
        description="Stop when the store's quota would make the extraction wait this many seconds; what it staged "
                    "is loaded meanwhile, and a run with finish_stopped finishes the rest (the sync job does both).",
    )
    finish_stopped: bool = Field(
        default=False, description="Only finish the window each stream last stopped in (see stop_at_quota_wait_s); "
                                   "open no new one.",
    )
    quota_refills_at: str | None = Field(
        default=None, description="Send no request before this time (ISO 8601): when the quota a stopped run spent "
                                  "refills.",
    )


def _metadata(result: StreamResult, table: str, conn) -> dict:
    return {
        "dagster/row_count": dg.MetadataValue.int(conn.execute(f"SELECT count(*) FROM bigcommerce.{table}").fetchone()[0]),
        "rows_staged": dg.MetadataValue.int(result.rows_staged),
        "requests": dg.MetadataValue.int(result.requests),
        "rate_limited_429s": dg.MetadataValue.int(result.rate_limited),
        "watermark": dg.MetadataValue.text(result.watermark.isoformat() if result.watermark else "none"),
        MORE_TO_READ: dg.MetadataValue.bool(result.more_to_read),
        **({QUOTA_REFILLS_AT: result.quota_refills_at.isoformat()} if result.quota_refills_at else {}),
        "preview": dg.MetadataValue.md(table_preview(conn, f"bigcommerce.{table}")),
        "duckdb_memory_limit": duckdb_memory_limit(conn),
    }


@dg.multi_asset(
    name="bigcommerce_streams",
    specs=[
        dg.AssetSpec(["bigcommerce", name], group_name="bigcommerce", kinds={"duckdb"}, description=_DESCRIPTIONS[name])
        for name in DATED_STREAMS
    ],
    partitions_def=daily_partitions(),
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    pool="duckdb",
)
def bigcommerce_streams(context: dg.AssetExecutionContext, config: ExtractConfig, bigcommerce: BigCommerceResource,
                        warehouse: WarehouseResource):
    """Incremental since each stream's watermark; a backfill re-reads its day range in one windowed scan."""
    names = [key.path[-1] for key in context.selected_asset_keys]
    window = partition_window(context, now=datetime.now(timezone.utc))
    specs = [STREAMS[name] for name in names]
    refills_at = datetime.fromisoformat(config.quota_refills_at) if config.quota_refills_at else None
    client = bigcommerce.client()
    with warehouse.connect(memory_cap=extraction_memory_limit()) as conn:
        if window is not None:
            context.log.info(f"backfill window {window[0].isoformat()} .. {window[1].isoformat()}")
        results = extract_streams(client, conn, specs, full=config.full, window=window,
                                  stop_at_quota_wait_s=config.stop_at_quota_wait_s,
                                  finish_stopped=config.finish_stopped,
                                  quota_refills_at=refills_at)
        inbox = open_inbox()
        tombstones = apply_inbox_deletions(conn, inbox) if inbox else {}
        for name in names:
            result = results[name]
            context.log.info(f"{name}: {result.rows_staged} rows staged in {result.requests} requests")
            metadata = {**_metadata(result, name, conn), "deleted_by_webhook": tombstones.get(name, 0)}
            yield dg.MaterializeResult(asset_key=["bigcommerce", name], metadata=metadata)


@dg.asset(key=["bigcommerce", "store"], group_name="bigcommerce", kinds={"duckdb"}, pool="duckdb",
          description="The connected store: name, URL, currency, timezone (GET /v2/store).")
def bigcommerce_store(context: dg.AssetExecutionContext, bigcommerce: BigCommerceResource,
                      warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connect(memory_cap=extraction_memory_limit()) as conn:
        result = extract_stream(bigcommerce.client(), conn, STREAMS["store"])
        name, url = conn.execute("SELECT name, secure_url FROM bigcommerce.store LIMIT 1").fetchone() or (None, None)
        context.log.info(f"connected store: {name} ({url})")
        metadata = _metadata(result, "store", conn)
    return dg.MaterializeResult(metadata={**metadata, "store_name": str(name), "store_url": dg.MetadataValue.url(url or "")})
