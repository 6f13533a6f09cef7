"""A quota-bound sync in rounds: each round loads what it read while the quota refills, and the rounds together leave
dotmailer as one uninterrupted sync would. "Sync now" runs the rounds itself; a scheduled sync's next round is
started by the `resume_sync_rounds` sensor."""

from datetime import UTC, datetime

import dagster as dg
import duckdb
import pytest

from bc_pipeline.automation import SYNC_JOB, SYNC_RESUME_SENSOR
from bc_pipeline.definitions import defs
from bc_pipeline.paths import pipeline_home
from bc_pipeline.status import collect_status, render_status
from bc_pipeline.sync_rounds import sync_run_config
from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.insight.conftest import collection, rejected_email_keys
from bc_pipeline_tests.insight.expected import orders_collection
from bc_pipeline_tests.pipeline.conftest import connected
from bc_pipeline_tests.pipeline.expected import book_members, store_contacts

# Every stream spans two or three pages of 250, so a window's quota of 6 reads about half the store. Windows of 1.5 s:
# a run that has spent one would wait over a second, which these tests call long.
QUOTA_BOUND_STORE = dict(seed=11, customers=300, orders=600, products=260, subscribers=320, quota=6, window_ms=1500)
STOP_AT_S = 0.5


@pytest.fixture
def quota_bound(monkeypatch, tmp_path):
    yield from connected(monkeypatch, tmp_path, QUOTA_BOUND_STORE)


def _assert_dotmailer_holds_the_store(pair) -> None:
    rejected = rejected_email_keys()
    assert set(book_members(pair.dotmailer, "Store customers")) == store_contacts(pair.bigcommerce) - rejected
    assert set(collection(pair.dotmailer, "Orders")) == set(orders_collection(pair.bigcommerce, rejected))
    with duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True) as conn:
        [(half_read,)] = conn.execute(
            "SELECT count(*) FROM bigcommerce.sync_state WHERE window_start IS NOT NULL").fetchall()
    assert half_read == 0
    # Each round was told when the quota refills, so none began with a request the store refused.
    assert "429" not in pair.bigcommerce.stats()["status_counts"]


def test_sync_now_loads_in_rounds_until_the_store_is_read(quota_bound):
    with dg.instance_for_test() as instance:
        summary = run_sync(defs, stop_at_quota_wait_s=STOP_AT_S, instance=instance)

        assert summary.success, summary.failure
        assert summary.resumed_by, "the quota never stopped the extraction"
        # The daemon's sensor leaves the rounds to the process running them.
        assert "runs its next round itself" in _round_ended(instance, summary.run_id).skip_message
        # Streams read whole in the first round are not read, transformed or loaded again.
        assert summary.step_seconds.keys() >= {"bigcommerce_streams", "dotmailer__orders_insight"}
        staged = {name: meta["rows_staged"] for name, meta in summary.streams.items()}
        assert staged["orders"] >= len(orders_collection(quota_bound.bigcommerce, set()))
        _assert_dotmailer_holds_the_store(quota_bound)
        # `bc-pipeline status` tells the rounds as one sync.
        last = collect_status(instance=instance).last_sync
        rounds = 1 + len(summary.resumed_by)
        assert (last.rounds, last.rows_moved, last.more_to_read) == (rounds, sum(staged.values()), False)
        shown = render_status(collect_status(instance=instance))
        assert f"succeeded in {rounds} rounds, {sum(staged.values()):,} rows moved" in shown


def _round_ended(instance: dg.DagsterInstance, run_id: str):
    run = instance.get_run_by_id(run_id)
    [success] = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    context = dg.build_run_status_sensor_context(
        sensor_name=SYNC_RESUME_SENSOR, dagster_event=success.event_log_entry.dagster_event, dagster_instance=instance,
        dagster_run=run, repository_def=defs.get_repository_def(),
    )
    return defs.resolve_sensor_def(SYNC_RESUME_SENSOR)(context)


def _rows_staged(result: dg.ExecuteInProcessResult) -> int:
    return sum(event.materialization.metadata["rows_staged"].value
               for event in result.get_asset_materialization_events()
               if "rows_staged" in event.materialization.metadata)


def test_the_sensor_starts_a_scheduled_syncs_next_round_until_the_store_is_read(quota_bound):
    job = defs.resolve_job_def(SYNC_JOB)
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(run_config=sync_run_config(stop_at_quota_wait_s=STOP_AT_S), instance=instance,
                                        partition_key="2026-12-01")
        rounds, staged = 1, _rows_staged(result)
        while isinstance(request := _round_ended(instance, result.run_id), dg.RunRequest):
            last = collect_status(instance=instance).last_sync
            assert (last.rounds, last.rows_moved, last.more_to_read) == (rounds, staged, True)
            assert "paused at the store's API quota" in render_status(collect_status(instance=instance))
            config = request.run_config["ops"]["bigcommerce_streams"]["config"]
            assert config["finish_stopped"] and config["quota_refills_at"]
            assert request.partition_key == "2026-12-01"
            assert request.run_key == f"resume-{result.run_id}"
            # The store's details were read in the first round.
            assert dg.AssetKey(["bigcommerce", "store"]) not in request.asset_selection
            config["stop_at_quota_wait_s"] = STOP_AT_S
            result = job.execute_in_process(run_config=request.run_config, asset_selection=request.asset_selection,
                                            partition_key=request.partition_key, instance=instance,
                                            tags=request.tags)
            assert result.success
            rounds, staged = rounds + 1, staged + _rows_staged(result)
            assert rounds < 20
        assert rounds > 1
        assert "read everything" in request.skip_message
        last = collect_status(instance=instance).last_sync
        assert (last.succeeded, last.rounds, last.rows_moved, last.more_to_read) == (True, rounds, staged, False)
    _assert_dotmailer_holds_the_store(quota_bound)


def test_the_schedule_asks_for_a_sync_in_rounds(quota_bound):
    with dg.instance_for_test() as instance, dg.build_schedule_context(
        instance=instance, repository_def=defs.get_repository_def(), scheduled_execution_time=datetime.now(UTC)
    ) as context:
        [request] = defs.resolve_schedule_def("sync_every_5_minutes").evaluate_tick(context).run_requests

    config = request.run_config["ops"]["bigcommerce_streams"]["config"]
    assert config["stop_at_quota_wait_s"] > 0 and not config["finish_stopped"]
    # The rounds' sensor runs whenever the schedule does.
    schedule, sensor = defs.resolve_schedule_def("sync_every_5_minutes"), defs.resolve_sensor_def(SYNC_RESUME_SENSOR)
    assert sensor.default_status.value == schedule.default_status.value
