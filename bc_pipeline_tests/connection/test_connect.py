"""`connect`: every credential checked against the sandboxes, secrets kept only in an owner-only .env."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import time

import pytest
import requests
from click.testing import CliRunner

from bc_pipeline.cli_connection import connect as connect_command
from bc_pipeline.connection import connect
from bc_pipeline.connection_marker import Disconnected, ensure_connected, write_marker
from bc_pipeline.credential_checks import CredentialCheckFailed, parse_api_path
from bc_pipeline.env_file import read_env_file
from bc_pipeline.sandbox.server import serve_in_thread
from bc_pipeline.webhooks import Inbox, create_receiver_app
from bc_pipeline_tests.connection.conftest import ACCESS_TOKEN, API_PASSWORD

ALL_SCOPES = {"store_v2_information", "store_v2_customers", "store_v2_orders", "store_v2_products", "store_cart"}


def test_connect_shows_the_store_and_keeps_secrets_only_in_an_owner_only_env_file(workspace):
    workspace.env_path.write_text("# my settings\nUNRELATED=keep me\nexport OTHER='x y'\n", encoding="utf-8")
    workspace.env_path.chmod(0o644)
    yaml_before = (workspace.cwd / "connector.yaml").read_bytes()

    result = CliRunner().invoke(connect_command, [*workspace.cli_args(), "--no-sync"])

    assert result.exit_code == 0, result.output
    assert "Connected store: Corner Bookshop — https://corner-bookshop.example" in result.output
    assert "bc-pipeline sync --full" in result.output
    assert ACCESS_TOKEN not in result.output and API_PASSWORD not in result.output
    assert stat.S_IMODE(workspace.env_path.stat().st_mode) == 0o600
    text = workspace.env_path.read_text(encoding="utf-8")
    assert text.startswith("# my settings\nUNRELATED=keep me\nexport OTHER='x y'\n")
    stored = read_env_file(workspace.env_path)
    assert stored["UNRELATED"] == "keep me" and stored["OTHER"] == "x y"
    assert stored["BC_ACCESS_TOKEN"] == ACCESS_TOKEN
    assert stored["DOTMAILER_API_PASSWORD"] == API_PASSWORD
    assert stored["BC_STORE_HASH"] == workspace.pair.bigcommerce.config.store_hash
    assert stored["BC_API_BASE_URL"] == workspace.pair.bigcommerce_server.url
    assert stored["BC_CLIENT_ID"] == "client-abc"
    assert (workspace.cwd / "connector.yaml").read_bytes() == yaml_before
    for path in workspace.home.rglob("*"):
        if path.is_file():
            content = path.read_text(encoding="utf-8")
            assert ACCESS_TOKEN not in content and API_PASSWORD not in content, path


def test_the_env_file_is_never_readable_by_others_even_while_it_is_written(workspace, monkeypatch):
    import bc_pipeline.env_file as env_file

    modes = []
    real_replace = env_file.os.replace

    def spy_replace(source, target):
        if str(target) == str(workspace.env_path):
            modes.append(stat.S_IMODE(env_file.os.stat(source).st_mode))
        real_replace(source, target)

    monkeypatch.setattr(env_file.os, "replace", spy_replace)
    old_umask = env_file.os.umask(0)
    try:
        connect(**workspace.connect_kwargs())
    finally:
        env_file.os.umask(old_umask)
    assert modes == [0o600]
    assert stat.S_IMODE(workspace.env_path.stat().st_mode) == 0o600


def test_a_missing_scope_is_named_and_nothing_is_stored(workspace_factory):
    workspace = workspace_factory(token_scopes=ALL_SCOPES - {"store_v2_products"})

    with pytest.raises(CredentialCheckFailed) as failure:
        connect(**workspace.connect_kwargs())

    assert "lacks this scope: Products." in str(failure.value)
    assert ACCESS_TOKEN not in str(failure.value)
    assert not workspace.env_path.exists()


def test_several_missing_scopes_are_all_named(workspace_factory):
    workspace = workspace_factory(token_scopes=ALL_SCOPES - {"store_v2_orders", "store_cart"})

    result = CliRunner().invoke(connect_command, [*workspace.cli_args(), "--no-sync"])

    assert result.exit_code == 1
    assert "lacks these scopes: Orders, Carts." in result.output
    assert "Nothing was stored" in result.output


def test_a_wrong_token_gets_a_plain_message(workspace):
    with pytest.raises(CredentialCheckFailed, match=r"did not accept the access token \(401\)"):
        connect(**workspace.connect_kwargs(access_token="not-the-token"))
    assert not workspace.env_path.exists()


def test_a_wrong_dotmailer_password_gets_a_plain_message(workspace):
    with pytest.raises(CredentialCheckFailed, match="dotmailer did not accept the API user or its password") as failure:
        connect(**workspace.connect_kwargs(dotmailer_api_password="wrong-password"))
    assert "wrong-password" not in str(failure.value)
    assert not workspace.env_path.exists()


@pytest.mark.parametrize("api_path", [
    "http://api.bigcommerce.com/stores/abc123/v3/",
    "http://192.168.1.20:8080/stores/abc123/v3/",
])
def test_plain_http_is_refused_except_on_loopback(api_path):
    with pytest.raises(CredentialCheckFailed, match="must use https"):
        parse_api_path(api_path)


def test_the_api_path_gives_base_url_and_store_hash():
    store = parse_api_path("https://api.bigcommerce.com/stores/abc123/v3/")
    assert (store.base_url, store.store_hash) == ("https://api.bigcommerce.com", "abc123")
    assert parse_api_path("http://127.0.0.1:8000/stores/sandbox").store_hash == "sandbox"
    with pytest.raises(CredentialCheckFailed, match="does not name a store"):
        parse_api_path("https://api.bigcommerce.com/v3/")


def test_webhooks_are_registered_with_the_shared_secret_header(workspace):
    connected = connect(**workspace.connect_kwargs(webhook_url="http://127.0.0.1:9/"))

    secret = read_env_file(workspace.env_path)["BC_WEBHOOK_SECRET"]
    hooks = requests.get(f"{workspace.api_path}hooks", headers={"X-Auth-Token": ACCESS_TOKEN}, timeout=5).json()["data"]
    assert {hook["scope"] for hook in hooks} == {
        "store/customer/deleted", "store/subscriber/deleted", "store/product/deleted", "store/order/archived",
        "store/cart/abandoned", "store/cart/converted", "store/cart/deleted",
    }
    assert all(hook["headers"] == {"X-BC-Pipeline-Secret": secret} for hook in hooks)
    assert all(hook["destination"] == "http://127.0.0.1:9/webhooks/bigcommerce" for hook in hooks)
    assert len(connected.webhooks) == len(hooks)


def test_connecting_again_replaces_the_webhooks_instead_of_adding_more(workspace):
    connect(**workspace.connect_kwargs(webhook_url="http://127.0.0.1:9/"))
    connect(**workspace.connect_kwargs(webhook_url="http://127.0.0.1:9/"))

    hooks = workspace.pair.bigcommerce.hooks.list()
    secret = read_env_file(workspace.env_path)["BC_WEBHOOK_SECRET"]
    assert len(hooks) == 7
    assert all(hook["headers"]["X-BC-Pipeline-Secret"] == secret for hook in hooks)


@pytest.mark.parametrize("url, problem", [
    ("http://hooks.example.com/", "must use https"),
    ("https://hooks.example.com:8443/", "only to port 443"),
])
def test_a_webhook_url_bigcommerce_cannot_deliver_to_is_refused_before_any_request(workspace, url, problem):
    with pytest.raises(CredentialCheckFailed, match=problem):
        connect(**workspace.connect_kwargs(webhook_url=url))
    assert workspace.pair.bigcommerce.hooks.list() == []
    assert not workspace.env_path.exists()


def test_connect_works_while_disconnected_and_removes_the_marker(workspace):
    write_marker({}, workspace.home)
    with pytest.raises(Disconnected):
        ensure_connected(workspace.home)

    connect(**workspace.connect_kwargs())

    ensure_connected(workspace.home)


def test_the_command_prompts_for_secrets_without_echoing_them(workspace):
    # A real process: the `bc-pipeline connect` entry point with the token and password typed at hidden prompts.
    args = [arg for arg in workspace.cli_args()]
    for option in ("--access-token", "--dotmailer-password"):
        index = args.index(option)
        del args[index:index + 2]
    completed = subprocess.run(
        [sys.executable, "-c", "from bc_pipeline.cli_connection import connect; connect()", *args, "--no-sync"],
        input=f"{ACCESS_TOKEN}\n{API_PASSWORD}\n", capture_output=True, text=True, timeout=60, cwd=workspace.cwd,
    )

    assert completed.returncode == 0, completed.stderr
    assert "Connected store: Corner Bookshop" in completed.stdout
    assert ACCESS_TOKEN not in completed.stdout + completed.stderr
    assert API_PASSWORD not in completed.stdout + completed.stderr
    assert stat.S_IMODE(workspace.env_path.stat().st_mode) == 0o600
    assert read_env_file(workspace.env_path)["DOTMAILER_API_PASSWORD"] == API_PASSWORD


def test_the_registered_webhooks_are_accepted_by_the_receiver(workspace):
    # The secret connect registers is the one `bc-pipeline webhooks serve` reads from .env: a store event
    # delivered by the sandbox's hooks lands in the inbox.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connect(**workspace.connect_kwargs(webhook_url=f"http://127.0.0.1:{port}/"))
    inbox_path = workspace.home / "inbox.sqlite"
    secret = read_env_file(workspace.env_path)["BC_WEBHOOK_SECRET"]
    receiver = serve_in_thread(create_receiver_app(inbox_path, secret), port=port)
    try:
        workspace.pair.bigcommerce.hooks.on_change("store/customer/deleted", {"type": "customer", "id": 3})
        deadline = time.monotonic() + 10
        events = []
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
            events = Inbox(inbox_path).events_after(0)
    finally:
        receiver.stop()

    assert [(event.scope, event.data_id) for event in events] == [("store/customer/deleted", "3")]
