"""A whole sync against both sandboxes: DuckDB staging and dotmailer books match the store's export."""

import duckdb

from bc_pipeline.definitions import defs
from bc_pipeline.paths import pipeline_home
from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.pipeline.expected import (
    PLAUSIBLE_EMAIL,
    book_members,
    consented_subscribers,
    key,
    store_contacts,
)


def _warehouse() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True)


def test_full_sync_matches_the_store(sandboxes):
    summary = run_sync(defs)
    assert summary.success, summary.failure
    # Both books load under the loads' own cap (96MB, which DuckDB reports in MiB).
    assert {summary.loads[book]["duckdb_memory_limit"] for book in ("customers_book", "subscribers_book")} == {
        "91.5 MiB"}
    # The extraction runs under its share of the warehouse's cap: 128MB of 256MB.
    assert {meta["duckdb_memory_limit"] for meta in summary.streams.values()} == {"122.0 MiB"}

    exported = {c["id"]: c for c in sandboxes.bigcommerce.export("customers")}
    with _warehouse() as conn:
        staged = dict(conn.execute("SELECT id, email FROM bigcommerce.customers").fetchall())
        rejected = dict(conn.execute("SELECT email_key, reason FROM dotmailer.rejected_contacts").fetchall())
        # Every import finished, so the ledger keeps their outcomes and none of the rows kept to resume them.
        ledger = conn.execute(
            """SELECT (SELECT count(*) FROM dotmailer.contact_imports WHERE finished_at IS NOT NULL),
                      (SELECT count(*) FROM dotmailer.insight_imports WHERE finished_at IS NOT NULL),
                      (SELECT count(*) FROM dotmailer.contact_import_rows),
                      (SELECT count(*) FROM dotmailer.insight_import_rows)"""
        ).fetchone()
    assert staged == {cid: c["email"] for cid, c in exported.items()}
    assert ledger[0] >= 2 and ledger[1] >= 2 and ledger[2:] == (0, 0)

    for email_key, reason in rejected.items():
        assert reason and not PLAUSIBLE_EMAIL.fullmatch(email_key), (email_key, reason)

    customers_book = book_members(sandboxes.dotmailer, "Store customers")
    assert set(customers_book) == store_contacts(sandboxes.bigcommerce) - set(rejected)
    subscribers_book = book_members(sandboxes.dotmailer, "Store subscribers")
    assert set(subscribers_book) == consented_subscribers(sandboxes.bigcommerce) - set(rejected)

    for customer in exported.values():
        contact = customers_book.get(key(customer["email"]))
        if contact and customer["first_name"].strip():
            assert contact["dataFields"]["FIRSTNAME"] == customer["first_name"].strip()
            assert contact["dataFields"]["LASTNAME"] == (customer["last_name"].strip() or None)


def test_a_sync_with_no_change_sends_nothing(sandboxes):
    assert run_sync(defs).success
    calls_before = sandboxes.dotmailer.stats()["requests"]

    second = run_sync(defs)

    assert second.success, second.failure
    assert all(meta["contacts_sent"] == 0 for name, meta in second.loads.items() if name.endswith("_book"))
    assert {name: meta["rows_staged"] for name, meta in second.streams.items() if name != "store"} == {
        "customers": 0, "orders": 0, "products": 0, "subscribers": 0}
    # Not even the suppressions are read: they matter only to a send (test_dotmailer_only_when_sending.py).
    assert sandboxes.dotmailer.stats()["requests"] == calls_before


def test_withdrawn_consent_leaves_the_subscribers_book(sandboxes):
    assert run_sync(defs).success
    subscribed = [s for s in sandboxes.bigcommerce.export("subscribers") if "marketing_newsletter" in s["consents"]
                  and PLAUSIBLE_EMAIL.fullmatch(key(s["email"]))]
    leaving = subscribed[0]
    now = sandboxes.bigcommerce.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    sandboxes.bigcommerce.load({"subscribers": [{**leaving, "consents": [], "date_modified": now}]})
    # Windows end a safety lag before the store's clock; let the store's time pass it instead of waiting.
    sandboxes.bigcommerce.clock.advance(10)

    summary = run_sync(defs)

    assert summary.success, summary.failure
    assert key(leaving["email"]) not in book_members(sandboxes.dotmailer, "Store subscribers")
    assert key(leaving["email"]) in book_members(sandboxes.dotmailer, "Store customers")
    assert summary.loads["subscribers_book"]["removed_from_book"] == 1
