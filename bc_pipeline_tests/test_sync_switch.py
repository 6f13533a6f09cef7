"""`bc-pipeline sync on|off`: connector.yaml, the schedule in the Dagster instance, and the schedule's ticks agree."""

import shutil
from datetime import UTC, datetime

import dagster as dg
import pytest
from click.testing import CliRunner

from bc_pipeline import instigators
from bc_pipeline.cli import main
from bc_pipeline.definitions import defs
from bc_pipeline.settings import load_settings
from bc_pipeline_tests.conftest import REPO_ROOT


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    path = tmp_path / "connector.yaml"
    shutil.copy(REPO_ROOT / "connector.yaml", path)
    monkeypatch.setenv("BC_PIPELINE_SETTINGS", str(path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.chdir(REPO_ROOT)
    return path


def _tick():
    schedule = defs.resolve_schedule_def("sync_every_5_minutes")
    with dg.instance_for_test() as instance, dg.build_schedule_context(
        instance=instance, repository_def=defs.get_repository_def(), scheduled_execution_time=datetime.now(UTC)
    ) as context:
        return schedule.evaluate_tick(context)


def test_sync_off_and_on_switch_the_file_the_schedule_and_its_ticks(settings_file):
    comments_before = [line for line in settings_file.read_text().splitlines() if line.startswith("#")]

    off = CliRunner().invoke(main, ["sync", "off"])

    assert off.exit_code == 0, off.output
    assert load_settings(settings_file).data_sync is False
    assert [line for line in settings_file.read_text().splitlines() if line.startswith("#")] == comments_before
    with dg.DagsterInstance.get() as instance:
        assert instigators.sync_schedule_state(instance).running is False
    assert "data sync is off" in _tick().skip_message

    on = CliRunner().invoke(main, ["sync", "on"])

    assert on.exit_code == 0, on.output
    assert "schedule sync_every_5_minutes started" in on.output
    assert load_settings(settings_file).data_sync is True
    with dg.DagsterInstance.get() as instance:
        assert instigators.sync_schedule_state(instance).running is True
    assert _tick().run_requests
