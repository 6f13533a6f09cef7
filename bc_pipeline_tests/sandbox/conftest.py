"""Sandbox BigCommerce servers on 127.0.0.1 and validators built from the official specs."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import pytest
import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.exceptions import OpenAPIError

from bc_pipeline.sandbox.bigcommerce import BigCommerceSandbox, BigCommerceSandboxConfig
from bc_pipeline.sandbox.clock import SandboxClock
from bc_pipeline.sandbox.server import serve_in_thread

TOKEN = "sandbox-token"
FIXED_START = datetime(2026, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


class RunningSandbox:
    def __init__(self, sandbox: BigCommerceSandbox, server):
        self.sandbox = sandbox
        self.server = server
        self.session = requests.Session()
        self.session.headers.update({"X-Auth-Token": TOKEN, "Accept": "application/json"})

    def api(self, version: str) -> str:
        return f"{self.server.url}/stores/{self.sandbox.config.store_hash}/{version}"

    def get(self, version: str, path: str, **kwargs) -> requests.Response:
        return self.session.get(self.api(version) + path, timeout=10, **kwargs)

    def control(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.server.url}/_sandbox{path}", timeout=30, **kwargs)


def start_sandbox(**overrides) -> RunningSandbox:
    config = BigCommerceSandboxConfig(**{"customers": 120, "orders": 300, "products": 40, "subscribers": 90,
                                         "quota": 100_000, **overrides})
    sandbox = BigCommerceSandbox(config, clock=SandboxClock(start=FIXED_START))
    return RunningSandbox(sandbox, serve_in_thread(sandbox.app))


@pytest.fixture
def bc():
    running = start_sandbox()
    yield running
    running.server.stop()


@pytest.fixture
def start_bc():
    started = []

    def start(**overrides) -> RunningSandbox:
        started.append(start_sandbox(**overrides))
        return started[-1]

    yield start
    for running in started:
        running.server.stop()


@lru_cache(maxsize=None)
def _openapi(spec_path: str, server_url: str) -> OpenAPI:
    spec = yaml.safe_load(Path(spec_path).read_text())
    # The official servers name api.bigcommerce.com; the same paths are served by the sandbox.
    spec["servers"] = [{"url": server_url}]
    # customers.v2.yml itself breaks a meta-schema rule (a boolean exclusiveMaximum on an integer); the response
    # schemas are still sound, so the document's own validation is skipped.
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


@pytest.fixture
def validate(specs_dir):
    """validate(spec_file, response): the response body must match the official spec for its operation."""

    def check(spec_file: str, response: requests.Response) -> None:
        version = "v2" if "/v2/" in response.request.url else "v3"
        base = response.request.url.split(f"/{version}/")[0] + f"/{version}"
        openapi = _openapi(str(specs_dir / "bigcommerce" / spec_file), base)
        try:
            openapi.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))
        except OpenAPIError as error:
            causes = getattr(error.__cause__, "schema_errors", None) or [error.__cause__ or error]
            raise AssertionError(f"{response.request.url}: " + "; ".join(str(cause)[:400] for cause in causes[:5]))

    return check
