"""The Insight transforms on odd staging rows, and the loader's ledger: crash recovery, disabled features, each
import recorded as it ends, import rows that leave no index behind, and loads that run out of memory."""

import json

import duckdb
import pytest

from bc_pipeline import warehouse
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline.dotmailer.address_books import find_or_create_address_book
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.insight import DEFAULT_MAX_RECORDS_PER_CHUNK, MAX_RECORDS_PER_CHUNK, records_per_chunk
from bc_pipeline.ledger import ensure_ledger
from bc_pipeline.load.address_books import load_address_book
from bc_pipeline.load.insight import CATALOG_COLLECTION, ORDERS_COLLECTION, load_insight
from bc_pipeline.load.insight_ledger import ensure_insight_ledger
from bc_pipeline.transform.catalog import build_catalog
from bc_pipeline.transform.contacts import CUSTOMERS_BOOK, build_contacts
from bc_pipeline.transform.order_insight import build_order_insight
from bc_pipeline.warehouse import MEMORY_LIMIT_VARIABLE, LoadTooLarge, load_memory_limit, open_warehouse, stage_pages
from bc_pipeline_tests.duckdb_memory import cached_table_bytes, index_bytes
from bc_pipeline_tests.insight.conftest import insight_import_requests
from bc_pipeline_tests.insight.expected import json_types

DATE = "Tue, 28 Jul 2026 03:46:04 +0000"
FULL_ORDER = {
    "id": 1, "customer_id": 0, "status_id": 11, "status": "Awaiting Fulfillment", "is_deleted": False,
    "date_created": DATE, "date_modified": DATE, "currency_code": "EUR", "payment_method": "Card",
    "subtotal_ex_tax": "10.0000", "discount_amount": "1.0000", "coupon_discount": "0.5000",
    "shipping_cost_inc_tax": "4.9900", "total_inc_tax": "13.4900",
    "billing_address": {"street_1": "1 Main St", "street_2": "", "city": "Leeds", "state": "", "zip": "LS1",
                        "country_iso2": "GB", "email": "jane@example.com"},
    "consignments": {"shipping": [{"street_1": "2 Side St", "city": "York", "zip": "YO1", "country_iso2": "GB",
                                   "shipping_method": "Courier",
                                   "line_items": [{"id": 10, "product_id": 5, "name": "Mug", "sku": "MUG",
                                                   "quantity": 2, "price_ex_tax": "5.0000", "price_inc_tax": "6.0000",
                                                   "applied_discounts": [{"code": "SAVE"}, {"code": None}]}]}]},
}
# Every optional field missing: the record must still carry each field with the same JSON type.
SPARSE_ORDER = {"id": 2, "customer_id": 0, "status_id": 1, "date_created": DATE, "date_modified": DATE,
                "billing_address": {"email": " Bob@Example.com "},
                "consignments": {"shipping": [{"line_items": [{"id": 20, "product_id": None}]}]}}


def _order(order_id: int, email: str, **fields) -> dict:
    return {"id": order_id, "customer_id": 0, "status_id": 11, "date_created": DATE, "date_modified": DATE,
            "billing_address": {"email": email}, **fields}


SKIPPED_ORDERS = [
    _order(3, "c@example.com", status_id=0),
    _order(4, "d@example.com", is_deleted=True),
    _order(5, "not-an-email"),
    _order(6, ""),
    _order(7, "g@example.com"),
    # Its customer's account was deleted: the billing email is no contact's.
    _order(9, "h@example.com", customer_id=42),
]
STORE = {"id": "1001", "name": "Shop", "secure_url": "https://shop.example/"}
PRODUCTS = [
    {"id": 5, "name": "Mug", "sku": "MUG", "type": "physical", "is_visible": True, "price": 5, "sale_price": 4,
     "categories": [3, 4], "brand_id": 2, "inventory_level": 7, "custom_url": {"url": "/mug/"},
     "description": "<p>A &lt;big&gt; mug</p>", "date_created": "2026-01-01T00:00:00+00:00",
     "date_modified": "2026-01-01T00:00:00+00:00",
     "images": [{"url_standard": "https://cdn.example/mug.jpg", "is_thumbnail": False}]},
    {"id": 6, "is_visible": True, "date_modified": "2026-01-01T00:00:00+00:00"},
    {"id": 7, "name": "Hidden", "is_visible": False, "date_modified": "2026-01-01T00:00:00+00:00"},
    {"id": 8, "name": "Deleted", "is_visible": True, "date_modified": "2026-01-01T00:00:00+00:00"},
]


def _staged(path) -> duckdb.DuckDBPyConnection:
    conn = open_warehouse(path)
    ensure_ledger(conn)
    staged = (("orders", [FULL_ORDER, SPARSE_ORDER, *SKIPPED_ORDERS]), ("products", PRODUCTS), ("store", [STORE]))
    for name, records in staged:
        spec = STREAMS[name]
        body = json.dumps(records if spec.api_version == "v2" else {"data": records}).encode()
        stage_pages(conn, spec.table, spec.child_tables, [body], spec.records_path)
    build_catalog(conn)  # creates bigcommerce.deleted_records
    conn.execute("INSERT INTO bigcommerce.deleted_records VALUES ('products', 8, now()), ('orders', 7, now())")
    build_contacts(conn, {}, {"customers": True, "subscribers": True})
    build_order_insight(conn)
    build_catalog(conn)
    return conn


def _records(conn, table: str) -> dict[str, dict]:
    return {key: json.loads(value) for key, value in conn.execute(f"SELECT key, json FROM {table}").fetchall()}


def _assert_same_types(records: dict[str, dict]) -> None:
    typed = [json_types(record) for record in records.values()]
    for types in typed:
        assert not any("null" in kinds for kinds in types.values()), types
    for path in set().union(*typed):
        assert len(set().union(*(types.get(path, set()) for types in typed))) == 1, path


def test_orders_keep_one_type_per_field_and_skip_what_must_not_travel(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    orders = _records(conn, "dotmailer.outbound_orders")

    assert set(orders) == {"1", "2"}
    _assert_same_types(orders)
    full, sparse = orders["1"], orders["2"]
    assert full["couponCode"] == "SAVE" and full["discountAmount"] == 1.5 and full["deliveryMethod"] == "Courier"
    assert full["deliveryAddress"]["delivery_city"] == "York" and full["billingAddress"]["billing_city"] == "Leeds"
    assert full["products"] == [{"product_id": "5", "name": "Mug", "sku": "MUG", "qty": 2, "price": 5.0,
                                 "price_inc_tax": 6.0, "categories": [{"Id": "3"}, {"Id": "4"}]}]
    assert full["storeName"] == "Shop"
    assert sparse["orderTotal"] == 0 and sparse["purchaseDate"] == "2026-07-28T03:46:04Z"
    assert sparse["products"][0]["product_id"] == "" and sparse["products"][0]["categories"] == []
    bob = conn.execute("SELECT email FROM dotmailer.outbound_orders WHERE key = '2'").fetchone()[0]
    assert bob == "Bob@Example.com"
    rejected = dict(conn.execute("SELECT key, reason FROM dotmailer.rejected_orders").fetchall())
    assert rejected == {"5": "contact email rejected: email is not a valid address", "6": "order has no contact email",
                        "9": "its customer account was deleted and no contact has its billing email"}


def test_catalog_holds_visible_products_with_one_type_per_field(tmp_path):
    conn = _staged(tmp_path / "w.duckdb")
    catalog = _records(conn, "dotmailer.outbound_catalog")

    assert set(catalog) == {"5", "6"}
    _assert_same_types(catalog)
    assert catalog["5"]["description"] == "A <big> mug"
    assert catalog["5"]["imagePath"] == "https://cdn.example/mug.jpg"
    assert catalog["5"]["url"] == "https://shop.example/mug/"
    assert catalog["6"]["brand"] == {"Id": ""} and catalog["6"]["price"] == 0


@pytest.fixture
def client(sandboxes):
    env = sandboxes.env()
    return DotmailerClient(env["DOTMAILER_API_USER"], env["DOTMAILER_API_PASSWORD"],
                           base_url=env["DOTMAILER_API_BASE_URL"])


def test_an_import_cut_off_while_running_is_resumed_not_sent_again(tmp_path, sandboxes, client):
    conn = _staged(tmp_path / "w.duckdb")

    cut_off = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01, poll_timeout=0)

    assert (cut_off.sent, cut_off.pending, cut_off.imported) == (2, 2, 0)
    assert conn.execute("SELECT count(*) FROM dotmailer.insight_imports WHERE finished_at IS NULL").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM dotmailer.insight_import_rows").fetchone()[0] == 2
    sent = insight_import_requests(sandboxes.dotmailer)

    resumed = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)

    assert (resumed.resumed_imports, resumed.imported, resumed.sent) == (1, 2, 0)
    assert insight_import_requests(sandboxes.dotmailer) == sent
    assert {r["key"] for r in sandboxes.dotmailer.state()["insight"]["Catalog_Default"]} == {"5", "6"}
    assert conn.execute("SELECT count(*) FROM dotmailer.insight_records").fetchone()[0] == 2
    assert conn.execute("SELECT count(*) FROM dotmailer.insight_import_rows").fetchone()[0] == 0


def test_a_file_holding_the_rows_of_finished_imports_keeps_only_those_of_open_ones(tmp_path):
    conn = open_warehouse(tmp_path / "w.duckdb")
    ensure_ledger(conn)
    ensure_insight_ledger(conn)
    conn.execute("""INSERT INTO dotmailer.insight_imports VALUES ('done', 'Catalog_Default', now(), now(), 'Finished', 2),
                    ('open', 'Catalog_Default', now(), NULL, 'accepted', 1)""")
    conn.execute("""INSERT INTO dotmailer.insight_import_rows VALUES ('done', 'Catalog_Default', '5', NULL, 'h'),
                    ('done', 'Catalog_Default', '6', NULL, 'h'), ('open', 'Catalog_Default', '6', NULL, 'h')""")
    conn.execute("""INSERT INTO dotmailer.contact_imports VALUES ('sent', 'customers', now(), now(), 'finished', 1),
                    ('sending', 'customers', now(), NULL, 'accepted', 1)""")
    conn.execute("""INSERT INTO dotmailer.contact_import_rows VALUES ('sent', 'customers', 'a@x.com', 'a@x.com', 'h'),
                    ('sending', 'customers', 'b@x.com', 'b@x.com', 'h')""")

    ensure_ledger(conn)
    ensure_insight_ledger(conn)

    assert conn.execute("SELECT import_id, key FROM dotmailer.insight_import_rows").fetchall() == [("open", "6")]
    assert conn.execute("SELECT import_id FROM dotmailer.contact_import_rows").fetchall() == [("sending",)]


KEYED_IMPORT_ROWS = {
    "insight_import_rows": """CREATE TABLE dotmailer.insight_import_rows (import_id VARCHAR, collection VARCHAR,
        key VARCHAR, contact_email VARCHAR, hash VARCHAR, PRIMARY KEY (import_id, key))""",
    "contact_import_rows": """CREATE TABLE dotmailer.contact_import_rows (import_id VARCHAR, book VARCHAR,
        email_key VARCHAR, email VARCHAR, hash VARCHAR, PRIMARY KEY (import_id, email_key))""",
}


def _primary_keys(conn) -> list[str]:
    return [table for (table,) in conn.execute(
        """SELECT table_name FROM duckdb_constraints()
           WHERE schema_name = 'dotmailer' AND table_name LIKE '%import_rows' AND constraint_type = 'PRIMARY KEY'"""
    ).fetchall()]


def test_a_file_with_keyed_import_rows_keeps_their_rows_without_the_keys(tmp_path):
    conn = open_warehouse(tmp_path / "w.duckdb")
    conn.execute("CREATE SCHEMA dotmailer")
    for ddl in KEYED_IMPORT_ROWS.values():
        conn.execute(ddl)
    conn.execute("INSERT INTO dotmailer.insight_import_rows VALUES ('open', 'Catalog_Default', '6', NULL, 'h')")
    conn.execute("INSERT INTO dotmailer.contact_import_rows VALUES ('sending', 'customers', 'b@x.com', 'b@x.com', 'h')")
    assert sorted(_primary_keys(conn)) == sorted(KEYED_IMPORT_ROWS)

    ensure_ledger(conn)
    ensure_insight_ledger(conn)

    assert _primary_keys(conn) == []
    assert conn.execute("SELECT import_id, key FROM dotmailer.insight_import_rows").fetchall() == [("open", "6")]
    assert conn.execute("SELECT import_id, email FROM dotmailer.contact_import_rows").fetchall() == [
        ("sending", "b@x.com")]


@pytest.mark.parametrize("table", sorted(KEYED_IMPORT_ROWS))
def test_import_rows_written_and_deleted_while_a_load_reads_leave_no_index_behind(tmp_path, table):
    # A load streams what it sends through a cursor whose transaction stays open while each import's rows are
    # written, then deleted when it finishes. A key's index keeps an entry for every one of those rows until the
    # reader ends: 16 MiB for the 300,000 of the benchmark's larger store.
    conn = open_warehouse(tmp_path / "w.duckdb")
    ensure_ledger(conn)
    ensure_insight_ledger(conn)
    reader = conn.cursor()
    reader.execute("SELECT * FROM range(1000000)").fetchmany(10)

    for n in range(30):
        import_id = f"{n:08d}-0000-4000-8000-000000000000"
        conn.execute(f"""INSERT INTO dotmailer.{table}
                         SELECT ?, 'Orders', i::VARCHAR, 'c' || i || '@x.com', md5(i::VARCHAR) FROM range(10000) t(i)""",
                     [import_id])
        conn.execute(f"DELETE FROM dotmailer.{table} WHERE import_id = ?", [import_id])
        reader.fetchmany(1000)

    assert index_bytes(conn) < 2**20


def test_account_insight_off_keeps_the_catalogue_for_later(tmp_path, sandboxes, client):
    conn = _staged(tmp_path / "w.duckdb")
    sandboxes.dotmailer.set_feature(account_insight=False)

    off = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)

    assert not off.insight_enabled and off.imported == 0
    assert conn.execute("SELECT count(*) FROM dotmailer.insight_records").fetchone()[0] == 0

    sandboxes.dotmailer.set_feature(account_insight=True)
    on = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)

    assert on.insight_enabled and on.imported == 2


def test_an_import_dotmailer_forgot_is_sent_again(tmp_path, sandboxes, client):
    conn = _staged(tmp_path / "w.duckdb")
    ensure_insight_ledger(conn)
    conn.execute("INSERT INTO dotmailer.insight_imports VALUES ('lost', 'Catalog_Default', now(), NULL, 'accepted', 1)")
    conn.execute("INSERT INTO dotmailer.insight_import_rows VALUES ('lost', 'Catalog_Default', '5', NULL, 'h')")

    result = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)

    assert (result.resumed_imports, result.imported) == (0, 2)
    status = conn.execute("SELECT status FROM dotmailer.insight_imports WHERE import_id = 'lost'").fetchone()[0]
    assert status == "NotFound"


def test_a_file_whose_pending_records_held_their_json_loads_from_its_outbound_table(tmp_path, sandboxes, client):
    conn = _staged(tmp_path / "w.duckdb")
    conn.execute("""CREATE TABLE dotmailer.pending_insight (
        collection VARCHAR, key VARCHAR, contact_email VARCHAR, json VARCHAR, hash VARCHAR)""")

    result = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)

    assert result.imported == 2
    held = sandboxes.dotmailer.state()["insight"]["Catalog_Default"]
    assert {r["key"]: r["json"] for r in held} == _records(conn, "dotmailer.outbound_catalog")
    columns = conn.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 'pending_insight'")
    assert "json" not in {name for (name,) in columns.fetchall()}


def test_each_import_is_recorded_in_the_ledger_as_it_ends_not_when_the_load_does(tmp_path, sandboxes):
    conn = _staged(tmp_path / "w.duckdb")
    more = [{"id": n, "name": f"Plate {n}", "is_visible": True, "date_modified": "2026-01-01T00:00:00+00:00"}
            for n in range(20, 30)]
    products = STREAMS["products"]
    stage_pages(conn, products.table, (), [json.dumps({"data": more}).encode()], products.records_path)
    build_catalog(conn)
    recorded_while_loading = []

    def sleep(_seconds: float) -> None:
        # Waiting for the imports beyond the first five: those five have ended by now.
        [(recorded,)] = conn.cursor().execute("SELECT count(*) FROM dotmailer.insight_records").fetchall()
        recorded_while_loading.append(recorded)

    env = sandboxes.env()
    client = DotmailerClient(env["DOTMAILER_API_USER"], env["DOTMAILER_API_PASSWORD"],
                             base_url=env["DOTMAILER_API_BASE_URL"], sleep=sleep)

    result = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01, max_chunk_bytes=700)

    assert len(result.import_ids) > 5 and result.imported == 12
    assert 0 < max(recorded_while_loading) < 12
    assert conn.execute("SELECT count(*) FROM dotmailer.insight_records").fetchone()[0] == 12


def test_an_order_too_large_to_send_is_kept_with_its_hash_and_not_sent_again(tmp_path, sandboxes, client):
    conn = _staged(tmp_path / "w.duckdb")
    sizes = dict(conn.execute("SELECT key, length(json::VARCHAR) FROM dotmailer.outbound_orders").fetchall())
    assert sizes["1"] > sizes["2"] + 60
    # Room for order 2 with the request's envelope and its contact, not for order 1.
    limit = 200 + (sizes["1"] + sizes["2"]) // 2

    first = load_insight(conn, client, ORDERS_COLLECTION, poll_interval=0.01, max_chunk_bytes=limit)

    assert first.failure_reasons["TooLarge"] == 1
    kept = conn.execute("""SELECT f.reason, f.contact_email, f.hash = o.hash FROM dotmailer.insight_failures f
                           JOIN dotmailer.outbound_orders o USING (key) WHERE key = '1'""").fetchall()
    assert kept == [("TooLarge", "jane@example.com", True)]
    again = load_insight(conn, client, ORDERS_COLLECTION, poll_interval=0.01, max_chunk_bytes=limit)
    assert again.sent == 0


def test_a_load_a_little_over_five_imports_of_5000_goes_in_five_not_a_sixth_that_waits(tmp_path, sandboxes, client):
    conn = open_warehouse(tmp_path / "w.duckdb")
    ensure_ledger(conn)
    products = [{"id": n, "name": f"Cup {n}", "is_visible": True, "date_modified": "2026-01-01T00:00:00+00:00"}
                for n in range(1, 25_502)]
    spec = STREAMS["products"]
    stage_pages(conn, spec.table, (), [json.dumps({"data": products}).encode()], spec.records_path)
    build_catalog(conn)

    result = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)

    assert (result.sent, result.imported) == (25_501, 25_501)
    assert len(result.import_ids) == 5
    assert insight_import_requests(sandboxes.dotmailer) == {"PUT /insightData/v3/import": 5}


def test_imports_grow_to_fill_the_concurrent_limit_but_not_past_their_size_bound():
    assert records_per_chunk(1) == DEFAULT_MAX_RECORDS_PER_CHUNK
    assert records_per_chunk(27_508) == 5_502
    assert records_per_chunk(300_000) == MAX_RECORDS_PER_CHUNK


def _large_catalogue(tmp_path):
    """A warehouse whose catalogue holds 8,000 records of about 3 KB each; returns its path."""
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as conn:
        conn.execute("CREATE SCHEMA dotmailer")
        # Hex digests, which DuckDB cannot compress away: on disk the table stays about as large as its records.
        conn.execute("""CREATE TABLE dotmailer.outbound_catalog AS SELECT i::VARCHAR AS key,
            json_object('name', 'Cup ' || i, 'description',
                        array_to_string(list_transform(range(100), lambda j: md5(i || '/' || j)), ''))::JSON AS json,
            md5(i::VARCHAR) AS hash FROM range(1, 8001) AS t(i)""")
    return path


def test_a_load_does_not_keep_the_records_it_has_sent_in_memory(tmp_path, sandboxes, client, monkeypatch):
    # DuckDB keeps every block a scan reads until its memory limit forces it out: run alone at the benchmark's default
    # store, the Orders load ended with 77 MB in DuckDB's memory, and 32 MB once it released them. To the scale of a
    # test: about 15 MB of records against a floor of 4MB.
    floor = 4 * 2**20
    monkeypatch.setattr(warehouse, "RELEASED_CACHE_LIMIT", "4MiB")
    path = _large_catalogue(tmp_path)
    conn = open_warehouse(path, memory_cap=load_memory_limit())

    result = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)

    assert (result.sent, result.imported, len(result.import_ids)) == (8000, 8000, 2)
    # Recording the last import's outcomes reads a few blocks after the release.
    assert cached_table_bytes(conn) <= floor + 2**20
    assert conn.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "91.5 MiB"


def test_a_load_that_runs_out_of_memory_says_what_to_raise_and_the_next_sends_everything(tmp_path, sandboxes, client,
                                                                                           monkeypatch):
    path = _large_catalogue(tmp_path)
    # The warehouse's cap an owner might set too low; the load takes 3/8 of it. 5,000 records of about 3 KB are
    # read at once to be sent, and do not fit.
    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "16MB")
    conn = open_warehouse(path, memory_cap=load_memory_limit())

    too_large = (f"loading the Catalog_Default Insight collection needed more than DuckDB's memory limit of 5.7 MiB. "
                 f"Set {MEMORY_LIMIT_VARIABLE} higher")
    with pytest.raises(LoadTooLarge, match=too_large):
        load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)
    conn.close()
    assert sandboxes.dotmailer.state()["insight"].get("Catalog_Default", []) == []

    monkeypatch.setenv(MEMORY_LIMIT_VARIABLE, "256MB")
    conn = open_warehouse(path, memory_cap=load_memory_limit())
    result = load_insight(conn, client, CATALOG_COLLECTION, poll_interval=0.01)

    assert (result.sent, result.imported) == (8000, 8000)
    assert len(sandboxes.dotmailer.state()["insight"]["Catalog_Default"]) == 8000


def test_an_address_book_load_that_runs_out_of_memory_says_what_to_raise(tmp_path, sandboxes, client):
    path = tmp_path / "w.duckdb"
    _staged(path).close()
    book_id = find_or_create_address_book(client, "Store customers").id
    conn = open_warehouse(path, memory_cap="1MB")

    with pytest.raises(LoadTooLarge, match="loading the customers address book needed more than .* of 976.5 KiB"):
        load_address_book(conn, client, CUSTOMERS_BOOK, lambda: book_id, poll_interval=0.01)
    conn.close()

    conn = open_warehouse(path, memory_cap=load_memory_limit())
    result = load_address_book(conn, client, CUSTOMERS_BOOK, lambda: book_id, poll_interval=0.01)

    assert (result.sent, result.created, result.failed) == (3, 3, 0)
    assert len(sandboxes.dotmailer.state()["contacts"]) == 3
