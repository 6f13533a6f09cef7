"""Transport behaviour of DotmailerClient against the sandbox: region, https, 429, 5xx, clear errors."""

from __future__ import annotations

import socket

import pytest

from bc_pipeline.dotmailer.account import account_info
from bc_pipeline.dotmailer.address_books import list_address_books
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.errors import DotmailerApiError, DotmailerAuthError, DotmailerUnavailable, InsecureEndpoint
from bc_pipeline_tests.dotmailer_client.conftest import API_PASSWORD, API_USER


def test_region_is_discovered_from_account_info(client, server):
    info = account_info(client)

    assert info.id is not None
    assert info.name
    assert info.api_endpoint.rstrip("/") == server.url
    assert client.base_url == info.api_endpoint.rstrip("/")


def test_fixed_base_url_skips_discovery(server, sandbox):
    with DotmailerClient(API_USER, API_PASSWORD, base_url=server.url) as dotmailer:
        list_address_books(dotmailer)

    assert sandbox.stats()["requests"] == {"GET /v2/address-books": 1}


@pytest.mark.parametrize(
    "url", ["http://r1-api.dotdigital.com", "http://10.0.0.5:8080", "ftp://127.0.0.1", "r1-api.dotdigital.com"]
)
def test_plain_http_is_refused_except_on_loopback(url):
    with pytest.raises(InsecureEndpoint):
        DotmailerClient(API_USER, API_PASSWORD, base_url=url)


def test_loopback_and_https_are_accepted():
    for url in ("http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:9", "https://r2-api.dotdigital.com/"):
        assert DotmailerClient(API_USER, API_PASSWORD, base_url=url).base_url == url.rstrip("/")


def test_rate_limit_is_waited_out_using_the_reset_header(client, sandbox, sleeps):
    sandbox.set_fault("rate_limit", count=2)

    books = list_address_books(client)

    assert [book.name for book in books] == ["Test"]
    assert len(sleeps.waits) >= 2
    # The sandbox announces x-ratelimit-reset: 60 (seconds until the window resets).
    assert all(59 <= wait <= 61 for wait in sleeps.waits[-2:])
    assert sandbox.stats()["status_counts"]["429"] == 2


def test_server_errors_are_retried_with_capped_backoff(client, sandbox, sleeps):
    sandbox.set_fault("http_500", count=3)

    assert list_address_books(client)
    assert sandbox.stats()["faults_served"]["http_500"] == 3
    assert len(sleeps.waits) == 3
    assert all(0 < wait <= 60 for wait in sleeps.waits)


def test_server_errors_give_up_after_the_retry_budget(server, sandbox, sleeps):
    sandbox.set_fault("http_500")
    with DotmailerClient(API_USER, API_PASSWORD, base_url=server.url, max_retries=2, sleep=sleeps) as dotmailer:
        with pytest.raises(DotmailerUnavailable, match="list address books"):
            list_address_books(dotmailer)

    assert sandbox.stats()["faults_served"]["http_500"] == 3


def test_bad_password_names_the_user_and_never_the_password(server):
    wrong_password = "not-the-right-secret-123"
    with DotmailerClient(API_USER, wrong_password, base_url=server.url) as dotmailer:
        with pytest.raises(DotmailerAuthError) as caught:
            list_address_books(dotmailer)

    message = str(caught.value)
    assert caught.value.status == 401
    assert "list address books" in message
    assert API_USER in message
    assert wrong_password not in message
    assert "Authorization" not in message and "Basic " not in message


def test_refusal_names_operation_and_dotmailer_code_without_secrets(client):
    with pytest.raises(DotmailerApiError) as caught:
        client.call("GET", "/v2/programs/enrolments/00000000-0000-0000-0000-000000000000", operation="get enrolment")

    message = str(caught.value)
    assert "get enrolment" in message
    assert caught.value.code and caught.value.code in message
    assert API_PASSWORD not in message


def test_repr_does_not_show_the_password(client):
    assert API_PASSWORD not in repr(client)


def test_refused_connections_are_retried_then_reported(sleeps):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()

    with DotmailerClient(
        API_USER, API_PASSWORD, base_url=f"http://127.0.0.1:{port}", max_retries=3, sleep=sleeps
    ) as dotmailer:
        with pytest.raises(DotmailerUnavailable, match="list address books: connection failed") as caught:
            list_address_books(dotmailer)

    assert len(sleeps.waits) == 3
    assert API_PASSWORD not in str(caught.value)


def test_rate_limit_without_end_gives_up(server, sandbox, sleeps):
    sandbox.set_fault("rate_limit")
    with DotmailerClient(
        API_USER, API_PASSWORD, base_url=server.url, max_rate_limit_waits=3, sleep=sleeps
    ) as dotmailer:
        with pytest.raises(DotmailerUnavailable, match="rate limited"):
            list_address_books(dotmailer)

    assert len(sleeps.waits) == 3
