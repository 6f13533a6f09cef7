"""The sync job and its 5-minute schedule."""

from datetime import datetime, timezone

import dagster as dg

from bc_pipeline.assets.partitions import PARTITION_DATE_FORMAT
from bc_pipeline.settings import load_settings

SYNC_JOB = "sync"
SYNC_SCHEDULE = "sync_every_5_minutes"

sync_job = dg.define_asset_job(
    SYNC_JOB,
    selection=dg.AssetSelection.groups("bigcommerce", "transform", "dotmailer"),
    description="Extract every BigCommerce stream, transform in DuckDB, load dotmailer.",
)

IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


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
        return dg.SkipReason("data sync is off (connector.yaml: data_sync: false; `bc-pipeline sync on` switches it on)")
    running = context.instance.get_run_records(
        filters=dg.RunsFilter(job_name=SYNC_JOB, statuses=IN_FLIGHT), limit=1
    )
    if running:
        return dg.SkipReason(f"previous sync {running[0].dagster_run.run_id} is still {running[0].dagster_run.status.value}")
    tick = context.scheduled_execution_time
    return dg.RunRequest(partition_key=current_partition_key(tick))
