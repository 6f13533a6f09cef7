"""The sync job, its 5-minute schedule, and the sensor that starts a sync's next round."""

from datetime import datetime, timezone

import dagster as dg

from bc_pipeline.assets.partitions import PARTITION_DATE_FORMAT
from bc_pipeline.settings import load_settings
from bc_pipeline.sync_rounds import (
    RESUMES_TAG,
    ROUNDS_IN_PROCESS_TAG,
    resume_selection,
    stopped_reading,
    sync_run_config,
)

SYNC_JOB = "sync"
SYNC_SCHEDULE = "sync_every_5_minutes"
SYNC_RESUME_SENSOR = "resume_sync_rounds"

SYNC_SELECTION = dg.AssetSelection.groups("bigcommerce", "transform", "dotmailer")

sync_job = dg.define_asset_job(
    SYNC_JOB,
    selection=SYNC_SELECTION,
    description="Extract every BigCommerce stream, transform in DuckDB, load dotmailer.",
)

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


SYNC_OFF = "data sync is off (connector.yaml: data_sync: false; `bc-pipeline sync on` switches it on)"


def _sync_in_flight(instance: dg.DagsterInstance) -> dg.DagsterRun | None:
    records = instance.get_run_records(filters=dg.RunsFilter(job_name=SYNC_JOB, statuses=IN_FLIGHT), limit=1)
    return records[0].dagster_run if records else None


def current_partition_key(now: datetime | None = None) -> str:
    """Today's daily partition (UTC): the one the scheduled sync materializes incrementally."""
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime(PARTITION_DATE_FORMAT)


@dg.schedule(
    name=SYNC_SCHEDULE,
    job=sync_job,
    cron_schedule="*/5 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING if load_settings().data_sync else dg.DefaultScheduleStatus.STOPPED,
    description="Data sync: every 5 minutes, skipping a tick while the previous sync is queued or running.",
)
def sync_every_5_minutes(context: dg.ScheduleEvaluationContext):
    if not load_settings().data_sync:
        return dg.SkipReason(SYNC_OFF)
    if running := _sync_in_flight(context.instance):
        return dg.SkipReason(f"previous sync {running.run_id} is still {running.status.value}")
    tick = context.scheduled_execution_time
    return dg.RunRequest(partition_key=current_partition_key(tick), run_config=sync_run_config())


@dg.run_status_sensor(
    name=SYNC_RESUME_SENSOR,
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[sync_job],
    request_job=sync_job,
    # The next round should start while the quota refills, not at the next 5-minute tick.
    minimum_interval_seconds=5,
    default_status=dg.DefaultSensorStatus.RUNNING if load_settings().data_sync else dg.DefaultSensorStatus.STOPPED,
    description="Starts the next round of a sync that stopped reading at a long wait for the store's quota, so the "
                "rest is read as soon as the quota refills.",
)
def resume_sync_rounds(context: dg.RunStatusSensorContext):
    if not load_settings().data_sync:
        return dg.SkipReason(SYNC_OFF)
    run = context.dagster_run
    if run.tags.get(ROUNDS_IN_PROCESS_TAG):
        return dg.SkipReason(f"sync {run.run_id} runs its next round itself (Sync now)")
    records = context.instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1_000
    ).records
    left = stopped_reading(record.asset_materialization for record in records)
    if left is None:
        return dg.SkipReason(f"sync {run.run_id} read everything")
    if running := _sync_in_flight(context.instance):
        # A sync finishes what an earlier one left half-read before it reads anything new.
        return dg.SkipReason(f"sync {running.run_id} is already running and reads the rest")
    return dg.RunRequest(
        run_key=f"resume-{run.run_id}",
        partition_key=run.tags.get("dagster/partition"),
        run_config=sync_run_config(resuming=left),
        asset_selection=resume_selection(context.repository_def.asset_graph, SYNC_SELECTION, left),
        tags={RESUMES_TAG: run.run_id},
    )
