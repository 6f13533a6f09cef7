"""`disconnect`: immediate effect (marker first), schedule and sensors stopped, webhooks deleted, secrets gone."""

from __future__ import annotations

import dagster as dg
import pytest
from click.testing import CliRunner

from bc_pipeline import instigators
from bc_pipeline.cli_connection import disconnect as disconnect_command
from bc_pipeline.connection import connect, disconnect
from bc_pipeline.connection_marker import Disconnected, ensure_connected, read_marker
from bc_pipeline.env_file import read_env_file
from bc_pipeline_tests.connection.conftest import ACCESS_TOKEN, API_PASSWORD


def test_disconnect_forgets_the_secrets_deletes_the_webhooks_and_blocks_requests(workspace):
    workspace.env_path.write_text("UNRELATED=keep me\n", encoding="utf-8")
    connect(**workspace.connect_kwargs(webhook_url="http://127.0.0.1:9/"))
    assert len(workspace.pair.bigcommerce.hooks.list()) == 7

    result = CliRunner().invoke(disconnect_command, ["--env-file", str(workspace.env_path)])

    assert result.exit_code == 0, result.output
    assert "Deleted 7 webhooks" in result.output
    assert workspace.pair.bigcommerce.hooks.list() == []
    assert read_env_file(workspace.env_path) == {"UNRELATED": "keep me"}
    for path in [workspace.env_path, *workspace.home.rglob("*")]:
        if path.is_file():
            content = path.read_text(encoding="utf-8")
            assert ACCESS_TOKEN not in content and API_PASSWORD not in content, path
    with pytest.raises(Disconnected, match="disconnected"):
        ensure_connected(workspace.home)
    with pytest.raises(Disconnected) as failure:
        ensure_connected()
    assert ACCESS_TOKEN not in str(failure.value)


def test_hooks_of_other_apps_are_left_alone(workspace):
    other = workspace.pair.bigcommerce.hooks.create(
        {"scope": "store/order/created", "destination": "https://other-app.example/hook"})
    connect(**workspace.connect_kwargs(webhook_url="http://127.0.0.1:9/"))

    report = disconnect(env_path=workspace.env_path, home=workspace.home)

    assert len(report.deleted_webhooks) == 7
    assert [hook["id"] for hook in workspace.pair.bigcommerce.hooks.list()] == [other["id"]]


def test_purge_deletes_the_staged_data_and_the_inbox(workspace):
    connect(**workspace.connect_kwargs())
    for name in ("warehouse.duckdb", "inbox.sqlite", "inbox.sqlite-wal"):
        (workspace.home / name).write_bytes(b"staged")

    report = disconnect(purge=True, env_path=workspace.env_path, home=workspace.home)

    assert {path.name for path in report.purged} >= {"warehouse.duckdb", "inbox.sqlite", "inbox.sqlite-wal"}
    assert not (workspace.home / "warehouse.duckdb").exists()
    assert not (workspace.home / "inbox.sqlite").exists()
    assert read_marker(workspace.home) is not None


def _running(instance: dg.DagsterInstance) -> instigators.Instigators:
    return instigators.running_instigators(instance)


def test_disconnect_stops_the_schedule_and_sensors_and_connect_starts_them_again(workspace, dagster_home):
    connect(**workspace.connect_kwargs())
    instance = dg.DagsterInstance.get()
    with instigators.connector_repository(instance) as repository:
        sensors = sorted(sensor.name for sensor in repository.get_sensors())
    instigators.start(instance, [instigators.SYNC_SCHEDULE], sensors)
    assert _running(instance).schedules == [instigators.SYNC_SCHEDULE]
    assert sorted(_running(instance).sensors) == sensors

    report = disconnect(env_path=workspace.env_path, home=workspace.home)

    assert report.problems == []
    assert report.stopped_schedules == [instigators.SYNC_SCHEDULE]
    assert sorted(report.stopped_sensors) == sensors
    stopped = _running(instance)
    assert stopped.schedules == [] and stopped.sensors == []
    assert read_marker(workspace.home)["stopped"] == {"schedules": [instigators.SYNC_SCHEDULE], "sensors": sensors}

    connected = connect(**workspace.connect_kwargs())

    assert sorted(connected.restarted) == sorted([instigators.SYNC_SCHEDULE, *sensors])
    assert _running(instance).schedules == [instigators.SYNC_SCHEDULE]
    assert sorted(_running(instance).sensors) == sensors
    ensure_connected(workspace.home)

