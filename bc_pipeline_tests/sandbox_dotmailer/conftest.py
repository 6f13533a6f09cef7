"""A live sandbox dotmailer per test, and an API session that checks every answer against the official specs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import requests

from bc_pipeline.sandbox.clock import SandboxClock
from bc_pipeline.sandbox.dotmailer import DotmailerSandbox, DotmailerSandboxConfig
from bc_pipeline.sandbox.server import serve_in_thread

from .spec_check import SpecBook

API_USER = "apiuser-sandbox@apiconnector.com"
API_PASSWORD = "sandbox-password"


@pytest.fixture(scope="session")
def spec_book(specs_dir) -> SpecBook:
    return SpecBook(specs_dir)


class CheckedSession(requests.Session):
    """Every response is validated against each spec that documents it; `validated` records which did."""

    def __init__(self, base_url: str, spec_book: SpecBook):
        super().__init__()
        self.base_url = base_url
        self.auth = (API_USER, API_PASSWORD)
        self.spec_book = spec_book
        self.validated: list[tuple[str, str, int, list[str]]] = []

    def request(self, method, url, *args, **kwargs):
        response = super().request(method, self.base_url + url, *args, **kwargs)
        documents = self.spec_book.validate(response)
        self.validated.append((method, url, response.status_code, documents))
        return response


@dataclass
class LiveSandbox:
    sandbox: DotmailerSandbox
    url: str
    api: CheckedSession

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, self.url + path, timeout=10, **kwargs)


@pytest.fixture
def make_sandbox(spec_book):
    started = []

    def start(**overrides) -> LiveSandbox:
        config = DotmailerSandboxConfig(api_user=API_USER, api_password=API_PASSWORD, **overrides)
        sandbox = DotmailerSandbox(config, clock=SandboxClock())
        server = serve_in_thread(sandbox.app)
        live = LiveSandbox(sandbox, server.url, CheckedSession(server.url, spec_book))
        started.append((server, live))
        return live

    yield start
    for server, live in started:
        # open keep-alive connections would hold the server in its graceful shutdown
        live.api.close()
        server.stop()


@pytest.fixture
def live(make_sandbox) -> LiveSandbox:
    return make_sandbox()
