"""The client's refusals and error messages: they say what is wrong and never carry the token."""

from __future__ import annotations

import pytest

from bc_pipeline.bigcommerce.client import (
    AuthenticationFailed,
    BigCommerceClient,
    RequestRejected,
    RetriesExhausted,
    ScopeMissing,
)
from bc_pipeline.bigcommerce.extract import extract_stream
from bc_pipeline.bigcommerce.streams import STREAMS
from bc_pipeline_tests.extract.conftest import TOKEN


@pytest.mark.parametrize(
    "url",
    ["http://api.bigcommerce.com/stores/abc", "http://10.0.0.5:8080/stores/abc", "ftp://127.0.0.1/stores/abc",
     "http://localhost.example.com/stores/abc"],
)
def test_plain_http_is_refused_off_loopback(url):
    with pytest.raises(ValueError, match="https"):
        BigCommerceClient(url, TOKEN)


@pytest.mark.parametrize(
    "url",
    ["https://api.bigcommerce.com/stores/abc", "http://127.0.0.1:8080/stores/abc", "http://127.9.9.9/stores/abc",
     "http://localhost:5000/stores/abc", "http://[::1]:5000/stores/abc"],
)
def test_https_and_loopback_are_accepted(url):
    BigCommerceClient(url, TOKEN).close()


def test_a_wrong_token_is_named_as_the_problem(bc_store, warehouse):
    store = bc_store()
    client = store.client(token="not-the-token")

    with pytest.raises(AuthenticationFailed) as failure:
        store.settle()
        extract_stream(client, warehouse, STREAMS["customers"])

    message = str(failure.value)
    assert "401" in message and "access token is wrong" in message and "GET /v3/customers" in message
    assert "not-the-token" not in message and "X-Auth-Token" not in message


@pytest.mark.parametrize(
    ("stream", "scope"),
    [
        ("orders", "store_v2_orders_read_only"),
        ("products", "store_v2_products_read_only"),
        ("subscribers", "store_v2_customers_read_only"),
        ("store", "store_v2_information_read_only"),
    ],
)
def test_a_missing_scope_is_named(bc_store, warehouse, stream, scope):
    granted = {"store_v2_customers_read_only", "store_v2_orders_read_only", "store_v2_products_read_only",
               "store_v2_information_read_only"} - {scope}
    store = bc_store(token_scopes=frozenset(granted))

    with pytest.raises(ScopeMissing) as failure:
        store.settle()
        extract_stream(store.client(), warehouse, STREAMS[stream])

    message = str(failure.value)
    assert "403" in message and scope in message and STREAMS[stream].path in message
    assert TOKEN not in message


def test_a_rejected_parameter_is_named(bc_store):
    store = bc_store()

    with pytest.raises(RequestRejected) as failure:
        store.client().get("/v3/customers", {"sort": "shoe_size:asc", "limit": 10})

    assert "422" in str(failure.value) and "sort" in str(failure.value)


def test_more_than_250_rows_a_page_is_never_asked_for(bc_store):
    store = bc_store()

    with pytest.raises(ValueError, match="250"):
        store.client().get("/v2/orders", {"limit": 251})

    assert store.sandbox.stats()["total_requests"] == 0


def test_persistent_server_errors_fail_with_what_failed_and_that_nothing_was_lost(bc_store, warehouse):
    store = bc_store()
    store.sandbox.set_fault("http_502", rate=1.0)

    with pytest.raises(RetriesExhausted) as failure:
        store.settle()
        extract_stream(store.client(max_attempts=3), warehouse, STREAMS["products"])

    message = str(failure.value)
    assert "GET /v3/catalog/products" in message and "HTTP 502" in message and "3 times" in message
    assert "Nothing was lost" in message and "?" not in message
    assert store.sandbox.stats()["total_requests"] == 3


def test_a_204_past_the_end_of_a_v2_list_is_an_empty_page(bc_store):
    store = bc_store(orders=10)

    response = store.client().get("/v2/orders", {"min_id": 100000, "limit": 250})

    assert response.status == 204 and response.is_empty
