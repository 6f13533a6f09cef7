"""A customer deleted in BigCommerce reaches us only by webhook; the next sync drops it everywhere."""

import time

import duckdb
import requests

from bc_pipeline.definitions import defs
from bc_pipeline.paths import inbox_path, pipeline_home
from bc_pipeline.sandbox.server import serve_in_thread
from bc_pipeline.sync_runner import run_sync
from bc_pipeline.webhooks import Inbox, create_receiver_app
from bc_pipeline_tests.pipeline.expected import PLAUSIBLE_EMAIL, book_members, key

SECRET = "webhook-secret-for-tests"


def _register_hook(sandboxes, destination: str) -> None:
    env = sandboxes.env()
    response = requests.post(
        f"{env['BC_API_BASE_URL']}/stores/{env['BC_STORE_HASH']}/v3/hooks",
        headers={"X-Auth-Token": env["BC_ACCESS_TOKEN"]},
        json={"scope": "store/customer/deleted", "destination": destination, "is_active": True,
              "headers": {"X-BC-Pipeline-Secret": SECRET}},
        timeout=10,
    )
    response.raise_for_status()


def _lone_customer(sandboxes) -> dict:
    """A registered customer who is neither a subscriber nor a guest buyer under the same email."""
    others = {key(s["email"]) for s in sandboxes.bigcommerce.export("subscribers")}
    others |= {key(o["billing_address"].get("email")) for o in sandboxes.bigcommerce.export("orders")}
    return next(c for c in sandboxes.bigcommerce.export("customers")
                if key(c["email"]) not in others and PLAUSIBLE_EMAIL.fullmatch(key(c["email"])))


def test_a_customer_deleted_by_webhook_leaves_staging_and_the_customers_book(sandboxes):
    receiver = serve_in_thread(create_receiver_app(inbox_path(), SECRET))
    try:
        _register_hook(sandboxes, f"{receiver.url}/webhooks/bigcommerce")
        assert run_sync(defs).success
        customer = _lone_customer(sandboxes)
        assert key(customer["email"]) in book_members(sandboxes.dotmailer, "Store customers")

        sandboxes.bigcommerce.store.remove("customer", customer["id"])
        deadline = time.monotonic() + 10
        while not Inbox(inbox_path()).deleted_ids("customer"):
            assert time.monotonic() < deadline, "the sandbox's webhook never reached the receiver"
            time.sleep(0.05)

        summary = run_sync(defs)
    finally:
        receiver.stop()

    assert summary.success, summary.failure
    assert summary.streams["customers"]["deleted_by_webhook"] == 1
    with duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM bigcommerce.customers WHERE id = ?", [customer["id"]]).fetchone() == (0,)
        assert conn.execute("SELECT stream FROM bigcommerce.deleted_records WHERE id = ?", [customer["id"]]).fetchall() == [
            ("customers",)]
    assert key(customer["email"]) not in book_members(sandboxes.dotmailer, "Store customers")
