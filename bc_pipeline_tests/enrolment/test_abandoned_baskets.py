"""Abandoned baskets: carts abandoned for an hour (webhook inbox) and incomplete orders get their contact,
a CartInsight record and an enrolment; a cart converted before enrolment is not enrolled."""

import json
from datetime import datetime, timedelta, timezone

import dagster as dg

from bc_pipeline.enrolment import clock as enrolment_clock
from bc_pipeline.enrolment.carts import enrol_abandoned_baskets
from bc_pipeline.enrolment.triggers import abandoned_baskets_decision
from bc_pipeline.paths import inbox_path
from bc_pipeline.resources import WarehouseResource
from bc_pipeline.sandbox.bigcommerce.rows import CartRow, OrderRow
from bc_pipeline.settings import load_settings
from bc_pipeline.sync_runner import run_sync
from bc_pipeline.webhooks.events import parse_callback
from bc_pipeline.webhooks.inbox import Inbox
from bc_pipeline_tests.enrolment.conftest import (
    PROGRAMS,
    add_to_store,
    bigcommerce_client,
    contact_ids_by_email,
    dotmailer_client,
    enrolled_contacts,
    fast_defs,
    ledger_rows,
)

DEFS = fast_defs()


def _deliver_webhooks(pair) -> Inbox:
    """Every store event reaches the inbox, as BigCommerce's webhooks do through the receiver."""
    inbox = Inbox(inbox_path())
    hooks = pair.bigcommerce.hooks

    def receive(scope: str, data: dict) -> None:
        body = json.dumps(hooks.payload(scope, data)).encode()
        inbox.append(parse_callback(body, received_at=datetime.now(timezone.utc)))

    pair.bigcommerce.store.listeners.append(receive)
    return inbox


def _abandon(pair, cart_id: str, email: str, customer_id: int = 0) -> CartRow:
    store = pair.bigcommerce.store
    now = store.now()
    cart = CartRow(cart_id, customer_id, email, "GBP", now, now, items=[(1, 2), (2, 1)])
    store.put_cart(cart)
    store.abandon_cart(cart, f"token-{cart_id}")
    return cart


def _convert(pair, cart: CartRow) -> None:
    store = pair.bigcommerce.store
    now = store.now()
    store.convert_cart(cart, OrderRow(store.orders.next_id(), cart.customer_id, 11, now, now,
                                      fields={"cart_id": cart.id, "billing_address": {"email": cart.email}}))


def _enrol_baskets(inbox: Inbox, now):
    with WarehouseResource().connect() as conn, dotmailer_client() as client:
        return enrol_abandoned_baskets(conn, client, bigcommerce_client(), inbox, load_settings(), now,
                                       poll_interval=0.1)


def test_abandoned_baskets_are_enrolled_unless_converted(store, monkeypatch):
    inbox = _deliver_webhooks(store)
    assert run_sync(DEFS).success
    clock = store.bigcommerce.clock
    assert _enrol_baskets(inbox, clock.now() - timedelta(seconds=10)).enrolled == 0  # automation switched on

    known = store.bigcommerce.export("customers")[0]
    _abandon(store, "cart-guest", "guest.basket@enrol.example")
    _abandon(store, "cart-signed-in", "", customer_id=known["id"])
    converted = _abandon(store, "cart-converted", "buyer@enrol.example")
    converted_later = _abandon(store, "cart-converted-later", "late.buyer@enrol.example")
    _abandon(store, "cart-anonymous", "")
    add_to_store(store, "orders", [{"customer_id": 0, "status_id": 0, "cart_id": "cart-incomplete",
                                    "billing_address": {"email": "incomplete@enrol.example", "first_name": "In"}}])
    assert run_sync(DEFS).success

    with dg.instance_for_test() as instance:
        too_soon = abandoned_baskets_decision(instance, inbox, None, clock.now())
        assert too_soon.run_key is None and "abandoned for an hour" in too_soon.skip_reason
        clock.advance(2 * 3600)
        _convert(store, converted)
        due = abandoned_baskets_decision(instance, inbox, too_soon.cursor, clock.now())
        assert due.run_key is not None and due.run_key.startswith("abandoned_baskets:carts-")
        assert abandoned_baskets_decision(instance, inbox, due.cursor, clock.now()).run_key is None

    # Collected while the program is paused, then converted before it could be enrolled.
    program = next(p["id"] for p in store.dotmailer.state()["programs"] if p["name"] == PROGRAMS["abandoned_baskets"])
    store.dotmailer.set_program_status(program, "Draft")
    paused = _enrol_baskets(inbox, clock.now())
    assert paused.enrolled == 0 and paused.waiting == 4 and "not Active" in paused.problem
    _convert(store, converted_later)
    store.dotmailer.set_program_status(program, "Active")

    result = _enrol_baskets(inbox, clock.now())

    ids = contact_ids_by_email(store)
    owners = ["guest.basket@enrol.example", known["email"].strip().lower(), "incomplete@enrol.example"]
    assert (result.enrolled, result.calls, result.problem) == (3, 1, None)
    assert sorted(enrolled_contacts(store, PROGRAMS["abandoned_baskets"])) == sorted(ids[e] for e in owners)
    assert "buyer@enrol.example" not in ids and "late.buyer@enrol.example" not in ids
    assert dict(ledger_rows("SELECT cart_id, status FROM dotmailer.abandoned_baskets")) == {
        "cart-guest": "enrolled", "cart-signed-in": "enrolled", "cart-incomplete": "enrolled",
        "cart-anonymous": "no_email", "cart-converted-later": "converted"}

    records = {r["key"]: r for r in store.dotmailer.state()["insight"]["CartInsight"]}
    assert set(records) == {"cart-guest", "cart-signed-in", "cart-incomplete"}
    guest = records["cart-guest"]["json"]
    assert guest["cartPhase"] == "ORDER_PENDING" and guest["currency"] == "GBP"
    assert guest["cartUrl"].endswith("/cart.php") and [i["quantity"] for i in guest["lineItems"]] == [2, 1]
    assert guest["grandTotal"] == sum(i["totalPrice"] for i in guest["lineItems"])
    assert records["cart-incomplete"]["json"]["cartId"] == "cart-incomplete"

    # The job's step, as the sensor launches it, finds nothing left to do.
    monkeypatch.setattr(enrolment_clock, "utc_now", clock.now)
    again = DEFS.resolve_job_def("enrol_programs").execute_in_process(
        run_config={"ops": {"enrol_program": {"config": {"role": "abandoned_baskets"}}}})
    assert again.success
    outcome = again.output_for_node("enrol_program")
    assert (outcome["enrolled"], outcome["enrolment_calls"]) == (0, 0)
    assert len(enrolled_contacts(store, PROGRAMS["abandoned_baskets"])) == 3
