"""`bc-pipeline status`: store, sync on/off, last and next sync, rejections; never a secret, never a wait."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timezone

import dagster as dg
from click.testing import CliRunner

from bc_pipeline import instigators
from bc_pipeline.cli_connection import status as status_command
from bc_pipeline.connection import connect, disconnect
from bc_pipeline.status import collect_status, render_status
from bc_pipeline.warehouse import open_warehouse
from bc_pipeline_tests.connection.conftest import ACCESS_TOKEN, API_PASSWORD


def _shown(text: str) -> dict[str, str]:
    """The status lines as label -> value."""
    shown = {}
    for line in text.splitlines():
        label, _, value = line.partition(":")
        shown[label] = value.strip()
    return shown


def _stage_a_finished_sync(warehouse_path) -> None:
    conn = open_warehouse(warehouse_path)
    try:
        finished = datetime(2026, 11, 28, 6, 0, tzinfo=timezone.utc)
        conn.execute("INSERT INTO bigcommerce.sync_state (stream, last_run_finished, rows_last_run) VALUES "
                     "('customers', ?, 8), ('orders', ?, 12)", [finished, finished])
        conn.execute("CREATE SCHEMA IF NOT EXISTS dotmailer")
        conn.execute("CREATE TABLE dotmailer.rejected_contacts (email_key VARCHAR, email VARCHAR, reason VARCHAR)")
        conn.execute("INSERT INTO dotmailer.rejected_contacts VALUES ('a', 'a@', 'invalid email address'), "
                     "('b', 'b@', 'invalid email address'), ('c', '', 'no email address')")
    finally:
        conn.close()


def test_status_shows_the_store_the_last_sync_and_rejections_and_no_secret(workspace, monkeypatch):
    connect(**workspace.connect_kwargs(webhook_url="http://127.0.0.1:9/"))
    _stage_a_finished_sync(workspace.home / "warehouse.duckdb")
    # Even with every secret in the environment, as under `dagster dev`, none is printed.
    for name, value in {"BC_ACCESS_TOKEN": ACCESS_TOKEN, "DOTMAILER_API_PASSWORD": API_PASSWORD}.items():
        monkeypatch.setenv(name, value)

    result = CliRunner().invoke(status_command, [])

    assert result.exit_code == 0, result.output
    output = result.output
    shown = _shown(output)
    assert shown["Connection"] == "connected"
    assert shown["Store"] == "Corner Bookshop — https://corner-bookshop.example"
    assert shown["Data sync"] == "on, every 5 minutes"
    assert shown["Last sync"] == "2026-11-28 06:00 UTC, finished, 20 rows moved"
    assert shown["Rejected rows"] == "3 (invalid email address: 2; no email address: 1)"
    secret = workspace.env_path.read_text(encoding="utf-8").split("BC_WEBHOOK_SECRET=")[1].strip()
    for value in (ACCESS_TOKEN, API_PASSWORD, secret, "client-abc"):
        assert value not in output


def test_status_counts_enrolments_still_to_happen(workspace):
    from bc_pipeline.enrolment.ledger import ensure_enrolment_ledger

    connect(**workspace.connect_kwargs())
    switched_on = datetime(2026, 11, 1, tzinfo=timezone.utc)
    conn = open_warehouse(workspace.home / "warehouse.duckdb")
    try:
        ensure_enrolment_ledger(conn)
        conn.execute("INSERT INTO dotmailer.automation_switches VALUES ('new_customers', 'Welcome', ?)", [switched_on])
        conn.execute("INSERT INTO bigcommerce.customers (id, email, date_created, raw, staged_at) "
                     "SELECT * FROM (VALUES (1, 'old@shop.example', TIMESTAMPTZ '2026-10-01', '{}', now()), "
                     "(2, 'new@shop.example', TIMESTAMPTZ '2026-11-20', '{}', now()), "
                     "(3, 'newer@shop.example', TIMESTAMPTZ '2026-11-21', '{}', now()))")
        conn.execute("INSERT INTO dotmailer.contact_ids VALUES ('new@shop.example', 77, now())")
        conn.execute("INSERT INTO dotmailer.abandoned_baskets (cart_id, source, abandoned_at, status, updated_at) "
                     "VALUES ('c1', 'webhook', now(), 'ready', now()), ('c2', 'webhook', now(), 'enrolled', now())")
    finally:
        conn.close()

    status = collect_status()

    assert status.enrolments_pending == {"new_customers": 2, "abandoned_baskets": 1}
    assert _shown(render_status(status))["Enrolments pending"] == "new customers: 2, abandoned baskets: 1"


def test_status_after_disconnect_says_so_and_that_sync_is_off(workspace):
    connect(**workspace.connect_kwargs())
    disconnect(env_path=workspace.env_path, home=workspace.home)

    text = render_status(collect_status())

    assert "disconnected since" in text
    assert _shown(text)["Data sync"] == "off: the connector is disconnected"
    assert "Next sync" not in text


@dg.op
def stage_rows():
    yield dg.AssetMaterialization("bigcommerce/orders", metadata={"rows_staged": 41})
    yield dg.AssetMaterialization("bigcommerce/customers", metadata={"rows_staged": 9})
    yield dg.Output(None)


@dg.job(name="sync")
def fake_sync():
    stage_rows()


def test_status_reads_the_last_run_and_next_tick_from_the_dagster_instance(workspace, dagster_home):
    connect(**workspace.connect_kwargs())
    instance = dg.DagsterInstance.get()
    assert fake_sync.execute_in_process(instance=instance).success
    instigators.start(instance, [instigators.SYNC_SCHEDULE], [])

    status = collect_status(now=datetime(2026, 11, 28, 6, 2, tzinfo=timezone.utc))

    assert status.last_sync.succeeded is True
    assert status.last_sync.rows_moved == 50
    assert status.schedule_running is True
    assert status.next_tick == datetime(2026, 11, 28, 6, 5, tzinfo=timezone.utc)
    text = render_status(status)
    assert _shown(text)["Last sync"].endswith("succeeded, 50 rows moved")
    assert _shown(text)["Next sync"] == "2026-11-28 06:05 UTC"

    instance.stop_schedule(*_schedule_ids(instance))
    text = render_status(collect_status())
    assert _shown(text)["Data sync"].startswith("off (the schedule is stopped; connector.yaml says data_sync: true)")


def _schedule_ids(instance):
    with instigators.connector_repository(instance) as repository:
        schedule = repository.get_schedule(instigators.SYNC_SCHEDULE)
        return schedule.get_remote_origin_id(), schedule.selector_id, schedule


HOLD_THE_WAREHOUSE = """
import sys, time, duckdb
conn = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(30)
"""


def test_status_does_not_wait_for_a_running_sync(workspace, dagster_home):
    connect(**workspace.connect_kwargs())
    warehouse = workspace.home / "warehouse.duckdb"
    _stage_a_finished_sync(warehouse)
    assert fake_sync.execute_in_process(instance=dg.DagsterInstance.get()).success
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_WAREHOUSE, str(warehouse)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        status = collect_status()
        elapsed = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()

    assert elapsed < 10
    assert status.sync_running
    assert status.last_sync.succeeded is True and status.last_sync.rows_moved == 50
    text = render_status(status)
    assert "a sync is running" in text
    assert "Corner Bookshop" in text


def test_credentials_set_in_the_environment_count_as_connected(workspace, monkeypatch):
    for name, value in workspace.pair.env().items():
        monkeypatch.setenv(name, value)

    text = render_status(collect_status())

    assert _shown(text)["Connection"] == "connected (credentials from environment variables)"
    assert workspace.pair.env()["BC_ACCESS_TOKEN"] not in text
