"""dotmailer is called only when a sync has contacts to send, and what it is then asked is still right.

Suppressions, address books and data fields are read just before a send. These tests prove that deferring them
neither re-subscribes a contact suppressed in the meantime nor sends into a book that no longer exists.
"""

import duckdb

from bc_pipeline.definitions import defs
from bc_pipeline.paths import pipeline_home
from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.pipeline.expected import PLAUSIBLE_EMAIL, book_members, consented_subscribers, key


def _change_customer(bigcommerce, customer: dict) -> None:
    now = bigcommerce.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    bigcommerce.load({"customers": [{**customer, "first_name": customer["first_name"] + " Jr", "date_modified": now}]})
    # Windows end a safety lag before the store's clock; let the store's time pass it instead of waiting.
    bigcommerce.clock.advance(10)


def _customer_who_subscribed(bigcommerce) -> dict:
    """A registered customer who is also a consenting subscriber: changing them leaves their consent as it was."""
    subscribed = consented_subscribers(bigcommerce)
    return next(c for c in bigcommerce.export("customers")
                if key(c["email"]) in subscribed and PLAUSIBLE_EMAIL.fullmatch(key(c["email"])))


def _delete_book(dotmailer, name: str) -> int:
    # As the account owner would in the app; the sandbox's API has no call for it.
    with dotmailer.account.lock:
        book = dotmailer.account.book_named(name)
        del dotmailer.account.books[book.id]
    return book.id


def _load_failures(email_key: str) -> list[tuple]:
    with duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute("SELECT book, failure_code FROM dotmailer.load_failures WHERE email_key = ?",
                            [email_key]).fetchall()


def test_a_subscriber_suppressed_between_syncs_is_not_sent_when_their_record_changes(sandboxes):
    assert run_sync(defs).success
    customer = _customer_who_subscribed(sandboxes.bigcommerce)
    email_key = key(customer["email"])
    assert email_key in book_members(sandboxes.dotmailer, "Store subscribers")
    sandboxes.dotmailer.suppress(customer["email"])
    _change_customer(sandboxes.bigcommerce, customer)

    summary = run_sync(defs)

    assert summary.success, summary.failure
    # Had the pipeline sent them, dotmailer would have refused them as GloballySuppressed.
    assert all(summary.loads[book]["failed"] == 0 for book in ("customers_book", "subscribers_book"))
    assert _load_failures(email_key) == []
    assert email_key not in book_members(sandboxes.dotmailer, "Store subscribers")
    contact = next(c for c in sandboxes.dotmailer.state()["contacts"] if key(c["email"]) == email_key)
    assert contact["status"] == "Unsubscribed"


def test_a_book_deleted_in_dotmailer_is_recreated_and_refilled_by_the_next_send(sandboxes):
    assert run_sync(defs).success
    members = set(book_members(sandboxes.dotmailer, "Store customers"))
    deleted_id = _delete_book(sandboxes.dotmailer, "Store customers")

    calls_before = sandboxes.dotmailer.stats()["requests"]
    assert run_sync(defs).success
    assert sandboxes.dotmailer.stats()["requests"] == calls_before, "nothing to send, yet dotmailer was called"

    _change_customer(sandboxes.bigcommerce, _customer_who_subscribed(sandboxes.bigcommerce))
    summary = run_sync(defs)

    assert summary.success, summary.failure
    assert summary.loads["customers_book"]["address_book_id"] != deleted_id
    assert set(book_members(sandboxes.dotmailer, "Store customers")) == members
    assert summary.loads["subscribers_book"]["contacts_sent"] == 1
