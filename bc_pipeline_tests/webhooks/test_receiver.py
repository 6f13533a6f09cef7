"""The receiver over real HTTP: shared secret, validation, de-duplication, and what it stores."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

import pytest
import requests

from bc_pipeline.webhooks import DEFAULT_SECRET_HEADER, WEBHOOK_PATH, Inbox, create_receiver_app


def post(receiver, body, secret: str | None, **kwargs) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[DEFAULT_SECRET_HEADER] = secret
    data = body if isinstance(body, (bytes, str)) or not isinstance(body, dict) else json.dumps(body)
    return requests.post(receiver.url + WEBHOOK_PATH, data=data, headers=headers, timeout=10, **kwargs)


def test_healthz(receiver):
    response = requests.get(receiver.url + "/healthz", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    "presented", [None, "", "wrong", "bcp-whsec-" + "0" * 32], ids=["missing", "empty", "wrong", "same-length"]
)
def test_wrong_or_missing_secret_is_refused_and_nothing_stored(receiver, inbox, make_callback, presented):
    response = post(receiver, make_callback("store/customer/deleted", {"type": "customer", "id": 32}), presented)

    assert response.status_code == 401
    assert response.json() == {"error": f"missing or wrong {DEFAULT_SECRET_HEADER} header"}
    assert inbox.max_seq() == 0


def test_secret_is_checked_before_the_body_is_read(receiver, inbox, shared_secret):
    assert post(receiver, b"not json", "wrong").status_code == 401
    assert post(receiver, b"not json", shared_secret).status_code == 400


def test_callback_is_stored_with_its_fields_and_raw_json(receiver, inbox, shared_secret, make_callback):
    body = make_callback(
        "store/cart/abandoned",
        {"type": "cart", "id": "09346904-4175-44fd-be53-f7e598531b6c", "token": "1eed6d2d979776ff18e695ceeb10ea61"},
    )
    raw = json.dumps(body)
    before = datetime.now(timezone.utc)

    response = post(receiver, raw, shared_secret)

    assert response.status_code == 200
    assert response.json() == {"status": "stored"}
    [event] = inbox.events_after(0)
    assert (event.seq, event.scope, event.hash) == (1, "store/cart/abandoned", body["hash"])
    assert (event.data_type, event.data_id, event.data_token) == ("cart", body["data"]["id"], body["data"]["token"])
    assert event.created_at == datetime.fromtimestamp(body["created_at"], tz=timezone.utc)
    assert before <= event.received_at <= datetime.now(timezone.utc)
    assert event.raw_json == raw


def test_replayed_callback_is_acknowledged_but_stored_once(receiver, inbox, shared_secret, make_callback):
    body = make_callback("store/product/deleted", {"type": "product", "id": 205})

    first = post(receiver, body, shared_secret)
    replay = post(receiver, body, shared_secret)

    assert (first.status_code, first.json()) == (200, {"status": "stored"})
    assert (replay.status_code, replay.json()) == (200, {"status": "duplicate"})
    assert [event.hash for event in inbox.events_after(0)] == [body["hash"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"\xff\xfe", "body is not UTF-8 text"),
        (b"[1, 2]", "body must be a JSON object"),
        (b"{}", "missing required field(s): scope, hash"),
        (b'{"hash": "abc", "data": {}}', "missing required field(s): scope"),
        (b'{"scope": "store/order/created", "data": {"type": "order", "id": 1}}', "missing required field(s): hash"),
        (b'{"scope": "store/order/created", "hash": 7}', "field 'hash' must be a string"),
        (b'{"scope": "store/order/created", "hash": "abc", "data": [1]}', "field 'data' must be a JSON object"),
        (b'{"scope": "store/customer/deleted", "hash": "abc", "data": {}}', "missing required field: data.id"),
        (b'{"scope": "store/cart/converted", "hash": "abc", "data": {}}', "missing required field: data.id"),
        (
            b'{"scope": "store/customer/deleted", "hash": "abc", "data": {"type": "customer", "id": "32"}}',
            "field 'data.id' must be an integer",
        ),
        (b'{"scope": "store/order/created", "hash": "abc", "created_at": "yesterday"}', "field 'created_at'"),
    ],
)
def test_malformed_callback_is_refused_naming_the_problem(receiver, inbox, shared_secret, body, message):
    response = post(receiver, body, shared_secret)

    assert response.status_code == 400
    assert message in response.json()["error"]
    assert inbox.max_seq() == 0


def test_oversized_body_is_refused(receiver, inbox, shared_secret, make_callback):
    body = make_callback("store/order/created", {"type": "order", "id": 1, "padding": "x" * 100_000})

    assert post(receiver, body, shared_secret).status_code == 413
    assert inbox.max_seq() == 0


def test_oversized_chunked_body_is_refused(receiver, inbox, shared_secret):
    # No Content-Length: the cap must hold while the body streams in.
    chunks = (b"x" * 16_384 for _ in range(8))

    assert post(receiver, chunks, shared_secret).status_code == 413
    assert inbox.max_seq() == 0


def test_events_without_data_id_outside_derived_scopes_are_kept(receiver, inbox, shared_secret, make_callback):
    body = make_callback("store/inventory/location/updated", {"location_id": 1, "product_id": 7})

    assert post(receiver, body, shared_secret).status_code == 200
    [event] = inbox.events_after(0)
    assert (event.scope, event.data_id, event.data_type) == ("store/inventory/location/updated", None, None)


def test_deletes_and_archives_posted_to_the_receiver_come_out_of_deleted_ids(
    receiver, inbox, shared_secret, make_callback
):
    posted = [
        make_callback("store/customer/deleted", {"type": "customer", "id": 32}),
        make_callback("store/customer/deleted", {"type": "customer", "id": 33}),
        make_callback("store/subscriber/deleted", {"type": "subscriber", "id": 5}),
        make_callback("store/product/deleted", {"type": "product", "id": 205}),
        make_callback("store/order/archived", {"type": "order", "id": 250}),
        make_callback("store/customer/updated", {"type": "customer", "id": 34}),
    ]
    for body in posted:
        assert post(receiver, body, shared_secret).status_code == 200

    assert inbox.deleted_ids("customer") == [32, 33]
    assert inbox.deleted_ids("subscriber") == [5]
    assert inbox.deleted_ids("product") == [205]
    assert inbox.deleted_ids("order") == [250]


def test_wrong_method_is_refused(receiver):
    assert requests.get(receiver.url + WEBHOOK_PATH, timeout=10).status_code == 405


def test_empty_secret_is_refused_at_startup(inbox_path):
    with pytest.raises(ValueError, match="must not be empty"):
        create_receiver_app(inbox_path, "")


def test_secret_never_appears_in_inbox_responses_or_logs(
    receiver, inbox_path, shared_secret, make_callback, caplog
):
    caplog.set_level(logging.DEBUG)
    responses = [
        post(receiver, make_callback("store/customer/deleted", {"type": "customer", "id": 1}), shared_secret),
        post(receiver, make_callback("store/customer/deleted", {"type": "customer", "id": 1}), shared_secret),
        post(receiver, make_callback("store/customer/deleted", {"type": "customer", "id": 2}), "wrong"),
        post(receiver, make_callback("store/customer/deleted", {"type": "customer", "id": 3}), None),
        post(receiver, b"{broken", shared_secret),
        post(receiver, b"{}", shared_secret),
        post(receiver, b"x" * 70_000, shared_secret),
        requests.get(receiver.url + "/healthz", timeout=10),
    ]
    assert Inbox(inbox_path).max_seq() == 1

    secret = shared_secret.encode()
    for response in responses:
        assert secret not in response.content
        assert all(shared_secret not in value for value in response.headers.values())
    inbox_files = list(inbox_path.parent.glob(inbox_path.name + "*"))
    assert inbox_files
    for path in inbox_files:
        assert secret not in path.read_bytes()
    assert caplog.records
    assert shared_secret not in caplog.text
