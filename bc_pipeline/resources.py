"""Dagster resources: the two API clients, the warehouse file and the connector settings.

Secrets arrive through `dg.EnvVar`, so the Dagster UI and event log show only the variable's name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from bc_pipeline.bigcommerce.client import BigCommerceClient
from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.ledger import ensure_ledger
from bc_pipeline.paths import WAREHOUSE_FILE, pipeline_home
from bc_pipeline.settings import ConnectorSettings, load_settings
from bc_pipeline.warehouse import open_warehouse

DEFAULT_BIGCOMMERCE_URL = "https://api.bigcommerce.com"
SECRET = {"dagster__is_secret": True}


class BigCommerceResource(dg.ConfigurableResource):
    """A BigCommerce store's API (store-level API account, read-only scopes)."""

    store_hash: str
    access_token: str = Field(json_schema_extra=SECRET)
    base_url: str | None = Field(default=None, description="Defaults to $BC_API_BASE_URL, else api.bigcommerce.com.")
    request_timeout_seconds: float = 60.0

    def api_root(self) -> str:
        base = self.base_url or os.environ.get("BC_API_BASE_URL") or DEFAULT_BIGCOMMERCE_URL
        return f"{base.rstrip('/')}/stores/{self.store_hash}"

    def client(self) -> BigCommerceClient:
        return BigCommerceClient(self.api_root(), self.access_token, timeout=(10.0, self.request_timeout_seconds))


class DotmailerResource(dg.ConfigurableResource):
    """A dotmailer account's API user; the regional endpoint is discovered unless given."""

    api_user: str
    api_password: str = Field(json_schema_extra=SECRET)
    base_url: str | None = Field(default=None, description="Defaults to $DOTMAILER_API_BASE_URL, else discovered.")
    import_poll_seconds: float = 10.0

    def client(self) -> DotmailerClient:
        base = self.base_url or os.environ.get("DOTMAILER_API_BASE_URL") or None
        return DotmailerClient(self.api_user, self.api_password, base_url=base)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file under $BC_PIPELINE_HOME. Only steps in pool `duckdb` open it."""

    home: str | None = Field(default=None, description="Defaults to $BC_PIPELINE_HOME, else .bc_pipeline/.")

    def path(self) -> Path:
        return (Path(self.home) if self.home else pipeline_home()) / WAREHOUSE_FILE

    @contextmanager
    def connect(self, memory_cap: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = open_warehouse(self.path(), memory_cap=memory_cap)
        try:
            ensure_ledger(conn)
            yield conn
        finally:
            conn.close()


class ConnectorSettingsResource(dg.ConfigurableResource):
    """connector.yaml: address books, programs, field mapping, sync on/off."""

    path: str | None = Field(default=None, description="Defaults to $BC_PIPELINE_SETTINGS, else ./connector.yaml.")

    def load(self) -> ConnectorSettings:
        return load_settings(Path(self.path) if self.path else None)
