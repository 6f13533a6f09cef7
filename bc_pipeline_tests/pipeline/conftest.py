"""A connected pipeline: both sandboxes on 127.0.0.1 and the env vars that point the pipeline at them."""

import pytest

from bc_pipeline.sandbox.bigcommerce import BigCommerceSandboxConfig
from bc_pipeline.sandbox.dotmailer import DotmailerSandboxConfig
from bc_pipeline.sandbox.serve import start_sandboxes

SMALL_STORE = dict(seed=11, customers=60, orders=150, products=20, subscribers=50)


@pytest.fixture
def sandboxes(monkeypatch, tmp_path):
    yield from connected(monkeypatch, tmp_path, SMALL_STORE)


def connected(monkeypatch, tmp_path, store: dict):
    """Both sandboxes, `store` being the BigCommerce one's settings, and the pipeline pointed at them."""
    pair = start_sandboxes(BigCommerceSandboxConfig(**store), DotmailerSandboxConfig(seed=11, import_steps=1))
    for key, value in pair.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("BC_PIPELINE_HOME", str(tmp_path / "home"))
    settings = tmp_path / "connector.yaml"
    settings.write_text("history_start_date: 2020-01-01\n", encoding="utf-8")
    monkeypatch.setenv("BC_PIPELINE_SETTINGS", str(settings))
    yield pair
    pair.stop()
