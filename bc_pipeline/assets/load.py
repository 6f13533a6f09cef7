"""Group `dotmailer`: what dotmailer holds — suppressions read back, and the two address books."""

import dagster as dg

from bc_pipeline.dotmailer.address_books import find_or_create_address_book
from bc_pipeline.load.address_books import BookLoadResult, load_address_book
from bc_pipeline.load.data_fields import ensure_mapping
from bc_pipeline.load.suppressions import refresh_suppressions
from bc_pipeline.resources import ConnectorSettingsResource, DotmailerResource, WarehouseResource
from bc_pipeline.transform.contacts import CUSTOMERS_BOOK, SUBSCRIBERS_BOOK


@dg.asset(key=["dotmailer", "suppressions"], group_name="dotmailer", kinds={"duckdb"}, pool="duckdb",
          description="Contacts suppressed or unsubscribed in dotmailer; the sync never subscribes them again.")
def dotmailer_suppressions(dotmailer: DotmailerResource, warehouse: WarehouseResource,
                           connector: ConnectorSettingsResource) -> dg.MaterializeResult:
    with warehouse.connect() as conn:
        fetched = refresh_suppressions(conn, dotmailer.client(), connector.load().history_start_date)
        total = conn.execute("SELECT count(*) FROM dotmailer.suppressions").fetchone()[0]
    return dg.MaterializeResult(metadata={"dagster/row_count": total, "fetched": fetched})


def _book_metadata(result: BookLoadResult) -> dict:
    return {
        "address_book_id": result.book_id,
        "contacts_sent": result.sent,
        "created": result.created,
        "updated": result.updated,
        "failed": result.failed,
        "failure_reasons": dg.MetadataValue.json(result.failure_reasons),
        "still_importing": result.pending,
        "removed_from_book": result.removed,
        "resumed_imports": result.resumed_imports,
        "import_ids": dg.MetadataValue.json(result.import_ids),
    }


def _load_book(context, book: str, dotmailer, warehouse, connector) -> dg.MaterializeResult:
    settings = connector.load()
    book_name = settings.customers_address_book if book == CUSTOMERS_BOOK else settings.subscribers_address_book
    if not book_name:
        context.log.info(f"the {book} address book is set to none in connector.yaml; nothing to load")
        return dg.MaterializeResult(metadata={"skipped": "address book set to none"})
    client = dotmailer.client()

    def prepare_book() -> int:
        check = ensure_mapping(client, settings.field_mapping, create_missing=settings.create_missing_data_fields)
        if check.created:
            context.log.info(f"created data fields: {', '.join(check.created)}")
        return find_or_create_address_book(client, book_name).id

    with warehouse.connect() as conn:
        result = load_address_book(conn, client, book, prepare_book, poll_interval=dotmailer.import_poll_seconds)
    if result.failed:
        context.log.warning(f"{result.failed} contacts failed for '{book_name}': {result.failure_reasons}")
    context.log.info(f"'{book_name}': sent {result.sent}, created {result.created}, updated {result.updated}, "
                     f"removed {result.removed}")
    return dg.MaterializeResult(metadata=_book_metadata(result))


@dg.asset(key=["dotmailer", "customers_book"], group_name="dotmailer", kinds={"python"}, pool="duckdb",
          deps=[["transform", "contacts"]],
          description="The Store customers address book: every contact the store knows.")
def customers_book(context: dg.AssetExecutionContext, dotmailer: DotmailerResource, warehouse: WarehouseResource,
                   connector: ConnectorSettingsResource) -> dg.MaterializeResult:
    return _load_book(context, CUSTOMERS_BOOK, dotmailer, warehouse, connector)


@dg.asset(key=["dotmailer", "subscribers_book"], group_name="dotmailer", kinds={"python"}, pool="duckdb",
          deps=[["transform", "contacts"]],
          description="The Store subscribers address book: only contacts with marketing consent.")
def subscribers_book(context: dg.AssetExecutionContext, dotmailer: DotmailerResource, warehouse: WarehouseResource,
                     connector: ConnectorSettingsResource) -> dg.MaterializeResult:
    return _load_book(context, SUBSCRIBERS_BOOK, dotmailer, warehouse, connector)
