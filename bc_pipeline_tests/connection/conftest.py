"""Fixtures for connecting and disconnecting: sandbox stores (optionally with restricted scopes) and a clean
working directory, with no credential in the environment so that only `connect` can put one in `.env`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bc_pipeline.connection import CONNECTION_VARIABLES
from bc_pipeline.sandbox.bigcommerce import BigCommerceSandboxConfig
from bc_pipeline.sandbox.dotmailer import DotmailerSandboxConfig
from bc_pipeline.sandbox.serve import SandboxPair, start_sandboxes

TINY_STORE = dict(seed=5, customers=8, orders=12, products=5, subscribers=6)
# Distinctive credentials: a search for them anywhere but .env finds a leak.
ACCESS_TOKEN = "tok-Q7xSECRETbigcommerce91"
API_PASSWORD = "pw-Z3kSECRETdotmailer55"


@dataclass
class Workspace:
    pair: SandboxPair
    cwd: Path
    home: Path

    @property
    def env_path(self) -> Path:
        return self.cwd / ".env"

    @property
    def api_path(self) -> str:
        return f"{self.pair.bigcommerce_server.url}/stores/{self.pair.bigcommerce.config.store_hash}/v3/"

    def connect_kwargs(self, **overrides) -> dict:
        dm = self.pair.dotmailer.config
        return {
            "api_path": self.api_path,
            "client_id": "client-abc",
            "access_token": ACCESS_TOKEN,
            "dotmailer_api_user": dm.api_user,
            "dotmailer_api_password": API_PASSWORD,
            "dotmailer_api_base_url": self.pair.dotmailer_server.url,
            "env_path": self.env_path,
            "home": self.home,
            **overrides,
        }

    def cli_args(self) -> list[str]:
        return ["--api-path", self.api_path, "--client-id", "client-abc", "--access-token", ACCESS_TOKEN,
                "--dotmailer-user", self.pair.dotmailer.config.api_user, "--dotmailer-password", API_PASSWORD,
                "--dotmailer-endpoint", self.pair.dotmailer_server.url, "--env-file", str(self.env_path)]


def _start(token_scopes=None) -> SandboxPair:
    return start_sandboxes(
        BigCommerceSandboxConfig(**TINY_STORE, access_token=ACCESS_TOKEN, token_scopes=token_scopes,
                                 store_name="Corner Bookshop", store_url="https://corner-bookshop.example"),
        DotmailerSandboxConfig(seed=5, import_steps=1, api_password=API_PASSWORD),
    )


@pytest.fixture
def workspace_factory(tmp_path, monkeypatch):
    """Start a sandbox pair (with `token_scopes` restricting the BigCommerce token) in a clean working directory."""
    for name in (*CONNECTION_VARIABLES, "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("BC_PIPELINE_HOME", str(home))
    settings = tmp_path / "connector.yaml"
    settings.write_text("history_start_date: 2020-01-01\n", encoding="utf-8")
    monkeypatch.setenv("BC_PIPELINE_SETTINGS", str(settings))
    monkeypatch.chdir(tmp_path)
    pairs: list[SandboxPair] = []

    def start(token_scopes=None) -> Workspace:
        pair = _start(token_scopes)
        pairs.append(pair)
        return Workspace(pair, tmp_path, home)

    yield start
    for pair in pairs:
        pair.stop()


@pytest.fixture
def workspace(workspace_factory) -> Workspace:
    return workspace_factory()


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home
