"""The Dagster definitions: they load, the lineage runs source → transform → load, and the schedule
never stacks a sync on a sync."""

from datetime import datetime, timezone

import dagster as dg
from dagster._core.test_utils import create_run_for_test

from bc_pipeline.automation import SYNC_JOB
from bc_pipeline.definitions import defs


def _graph():
    return defs.resolve_asset_graph()


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_lineage_runs_from_bigcommerce_through_transforms_to_dotmailer():
    graph = _graph()
    contacts = dg.AssetKey(["transform", "contacts"])
    assert {dg.AssetKey(["bigcommerce", n]) for n in ("customers", "subscribers", "orders", "store")} <= set(
        graph.get(contacts).parent_keys
    )
    for book in ("customers_book", "subscribers_book"):
        assert contacts in graph.get(dg.AssetKey(["dotmailer", book])).parent_keys


def test_every_asset_that_opens_duckdb_is_in_the_duckdb_pool():
    for node in _graph().asset_nodes:
        assert node.pools == {"duckdb"}, node.key


def test_history_can_be_backfilled_by_day_in_one_run():
    orders = _graph().get(dg.AssetKey(["bigcommerce", "orders"]))
    assert isinstance(orders.partitions_def, dg.DailyPartitionsDefinition)
    assert orders.backfill_policy == dg.BackfillPolicy.single_run()


def test_schedule_runs_every_five_minutes_in_utc_on_todays_partition():
    schedule = defs.resolve_schedule_def("sync_every_5_minutes")
    assert schedule.cron_schedule == "*/5 * * * *"
    assert schedule.execution_timezone == "UTC"
    tick = datetime(2026, 11, 28, 10, 5, tzinfo=timezone.utc)
    with dg.instance_for_test() as instance, dg.build_schedule_context(
        instance=instance, scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    ) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2026-11-28"


def test_schedule_skips_a_tick_while_a_sync_is_in_flight():
    schedule = defs.resolve_schedule_def("sync_every_5_minutes")
    with dg.instance_for_test() as instance:
        create_run_for_test(instance, job_name=SYNC_JOB, status=dg.DagsterRunStatus.STARTED)
        with dg.build_schedule_context(instance=instance) as context:
            result = schedule.evaluate_tick(context)
    assert not result.run_requests
    assert "still" in result.skip_message
