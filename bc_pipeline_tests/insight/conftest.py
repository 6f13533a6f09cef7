"""Both sandboxes, plus a sync runner that reports the Insight loads' metadata and dates changes so the next
sync reads them (the extractor leaves the last few seconds for the sync after)."""

import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from bc_pipeline.bigcommerce.extract import SAFETY_LAG
from bc_pipeline.definitions import defs
from bc_pipeline.paths import pipeline_home
from bc_pipeline.resources import DotmailerResource
from bc_pipeline.sync_runner import SyncSummary, run_sync
from bc_pipeline_tests.pipeline.conftest import sandboxes  # noqa: F401

# The sandbox finishes an import after one poll; polling it every 2 s would only make the tests slow.
FAST_DEFS = dg.Definitions(
    assets=defs.assets,
    asset_checks=defs.asset_checks,
    jobs=defs.jobs,
    resources={
        **defs.resources,
        "dotmailer": DotmailerResource(
            api_user=dg.EnvVar("DOTMAILER_API_USER"), api_password=dg.EnvVar("DOTMAILER_API_PASSWORD"),
            import_poll_seconds=0.05,
        ),
    },
)


@dataclass
class InsightSync:
    summary: SyncSummary
    orders: dict | None
    catalog: dict | None


class Syncer:
    def __init__(self):
        self.instance = dg.DagsterInstance.ephemeral()
        self.last_started: float | None = None

    def __call__(self) -> InsightSync:
        self.last_started = time.time()
        summary = run_sync(FAST_DEFS, instance=self.instance)
        assert summary.success, summary.failure
        return InsightSync(summary, self._metadata("orders_insight", summary.run_id),
                           self._metadata("catalog_insight", summary.run_id))

    def _metadata(self, name: str, run_id: str) -> dict | None:
        event = self.instance.get_latest_materialization_event(dg.AssetKey(["dotmailer", name]))
        if event is None or event.run_id != run_id:
            return None
        return {k: getattr(v, "value", v) for k, v in event.asset_materialization.metadata.items()}

    def change_time(self) -> str:
        """A date_modified the next sync reads: after the last sync's window, outside the next one's lag."""
        lag = SAFETY_LAG.total_seconds()
        moment = math.floor(self.last_started - lag) + 1
        wait = moment + lag + 1 - time.time()
        if wait > 0:
            time.sleep(wait)
        return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def sync(sandboxes):  # noqa: F811
    return Syncer()


def write_settings(text: str) -> None:
    Path(os.environ["BC_PIPELINE_SETTINGS"]).write_text(text, encoding="utf-8")


def warehouse() -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True)


def rejected_email_keys() -> set[str]:
    with warehouse() as conn:
        return {row[0] for row in conn.execute("SELECT email_key FROM dotmailer.rejected_contacts").fetchall()}


def collection(dotmailer, name: str) -> dict[str, dict]:
    return {record["key"]: record for record in dotmailer.state()["insight"].get(name, [])}


def insight_import_requests(dotmailer) -> dict[str, int]:
    return {route: n for route, n in dotmailer.stats()["requests"].items() if route.startswith("PUT /insightData")}
