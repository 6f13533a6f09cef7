"""Group `dotmailer`: what dotmailer holds — suppressions read back, and the two address books."""

import dagster as dg

from bc_pipeline.dotmailer.address_books import find_or_create_address_book
from bc_pipeline.load.address_books import BookLoadResult, has_contacts_to_send, load_address_book
from bc_pipeline.load.data_fields import ensure_mapping
from bc_pipeline.load.suppressions import refresh_suppressions, withhold_suppressed
from bc_pipeline.resources import ConnectorSettingsResource, DotmailerResource, WarehouseResource
from bc_pipeline.transform.contacts import CUSTOMERS_BOOK, SUBSCRIBERS_BOOK
from bc_pipeline.warehouse import duckdb_memory_limit, load_memory_limit


def _enabled_books(settings) -> dict[str, bool]:
    return {CUSTOMERS_BOOK: bool(settings.customers_address_book),
            SUBSCRIBERS_BOOK: bool(settings.subscribers_address_book)}


@dg.asset(key=["dotmailer", "suppressions"], group_name="dotmailer", kinds={"duckdb"}, pool="duckdb",
          deps=[["transform", "contacts"]],
          description="Contacts suppressed or unsubscribed in dotmailer, read just before contacts are sent and "
          "withheld from them; the sync never subscribes them again.")
def dotmailer_suppressions(context: dg.AssetExecutionContext, dotmailer: DotmailerResource,
                           warehouse: WarehouseResource, connector: ConnectorSettingsResource) -> dg.MaterializeResult:
    settings = connector.load()
    books = _enabled_books(settings)
    with warehouse.connect() as conn:
        if not any(has_contacts_to_send(conn, book) for book, enabled in books.items() if enabled):
            context.log.info("no contact to send or remove: dotmailer's suppressions are not read")
            return dg.MaterializeResult(metadata={"skipped": "not read: nothing to send"})
        fetched = refresh_suppressions(conn, dotmailer.client(), settings.history_start_date)
        withheld = withhold_suppressed(conn, settings.field_mapping, books) if fetched else 0
        total = conn.execute("SELECT count(*) FROM dotmailer.suppressions").fetchone()[0]
    return dg.MaterializeResult(metadata={"dagster/row_count": total, "fetched": fetched, "withheld": withheld})


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

    with warehouse.connect(memory_cap=load_memory_limit()) as conn:
        result = load_address_book(conn, client, book, prepare_book, poll_interval=dotmailer.import_poll_seconds)
        cap = duckdb_memory_limit(conn)
    if result.failed:
        context.log.warning(f"{result.failed} contacts failed for '{book_name}': {result.failure_reasons}")
    context.log.info(f"'{book_name}': sent {result.sent}, created {result.created}, updated {result.updated}, "
                     f"removed {result.removed}")
    return dg.MaterializeResult(metadata={**_book_metadata(result), "duckdb_memory_limit": cap})


@dg.asset(key=["dotmailer", "customers_book"], group_name="dotmailer", kinds={"python"}, pool="duckdb",
          deps=[["transform", "contacts"], ["dotmailer", "suppressions"]],
          description="The Store customers address book: every contact the store knows.")
def customers_book(context: dg.AssetExecutionContext, dotmailer: DotmailerResource, warehouse: WarehouseResource,
                   connector: ConnectorSettingsResource) -> dg.MaterializeResult:
    return _load_book(context, CUSTOMERS_BOOK, dotmailer, warehouse, connector)


@dg.asset(key=["dotmailer", "subscribers_book"], group_name="dotmailer", kinds={"python"}, pool="duckdb",
          deps=[["transform", "contacts"], ["dotmailer", "suppressions"]],
          description="The Store subscribers address book: only contacts with marketing consent.")
def subscribers_book(context: dg.AssetExecutionContext, dotmailer: DotmailerResource, warehouse: WarehouseResource,
                     connector: ConnectorSettingsResource) -> dg.MaterializeResult:
    return _load_book(context, SUBSCRIBERS_BOOK, dotmailer, warehouse, connector)
