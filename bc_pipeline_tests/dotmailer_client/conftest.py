"""A fresh dotmailer sandbox on 127.0.0.1 and a client pointed at it, for every test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.sandbox.dotmailer import DotmailerSandbox, DotmailerSandboxConfig
from bc_pipeline.sandbox.server import RunningServer, serve_in_thread

API_USER = "apiuser-sandbox@apiconnector.com"
API_PASSWORD = "sandbox-password"


@dataclass
class SleepRecorder:
    """Stands in for time.sleep: records each wait and returns at once, so retries cost no wall time."""

    waits: list[float]

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def sandbox_config(**overrides) -> DotmailerSandboxConfig:
    settings = dict(
        api_user=API_USER,
        api_password=API_PASSWORD,
        seed=7,
        import_steps=1,
        rate_limit_per_minute=None,
        enrolment_calls_per_hour=20,
        insight_enabled=True,
        account_insight_enabled=True,
        max_active_contact_imports=25,
        max_active_insight_imports=5,
        max_request_bytes=50 * 1024 * 1024,
    )
    settings.update(overrides)
    return DotmailerSandboxConfig(**settings)


@pytest.fixture
def sandbox() -> DotmailerSandbox:
    return DotmailerSandbox(sandbox_config())


@pytest.fixture
def server(sandbox: DotmailerSandbox) -> Iterator[RunningServer]:
    running = serve_in_thread(sandbox.app)
    yield running
    running.stop()


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder([])


@pytest.fixture
def client(server: RunningServer, sleeps: SleepRecorder) -> Iterator[DotmailerClient]:
    with DotmailerClient(API_USER, API_PASSWORD, discovery_url=server.url, sleep=sleeps) as dotmailer:
        yield dotmailer
