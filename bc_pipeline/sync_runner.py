"""Run one sync in this process ("Sync now"), and summarise what it moved."""

import os
from dataclasses import dataclass, field

import dagster as dg

from bc_pipeline.automation import SYNC_JOB, current_partition_key

STREAM_STEP = "bigcommerce_streams"


@dataclass
class SyncSummary:
    success: bool
    run_id: str
    streams: dict[str, dict] = field(default_factory=dict)
    loads: dict[str, dict] = field(default_factory=dict)  # address books and Insight collections
    # Seconds each step that succeeded took, in the order they ended: where a sync's time went.
    step_seconds: dict[str, float] = field(default_factory=dict)
    failure: str | None = None


def _value(entry) -> object:
    return getattr(entry, "value", entry)


def _root_cause(error) -> str:
    # Dagster wraps the user's exception; its own message is what says what to fix.
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def _instance() -> dg.DagsterInstance:
    # With DAGSTER_HOME set, "Sync now" lands in the same run history as the UI and the schedule.
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_sync(defs: dg.Definitions, *, full: bool = False, instance: dg.DagsterInstance | None = None,
             log_level: str | None = None) -> SyncSummary:
    """One run of the sync job in this process. `log_level` (e.g. "WARNING") quietens Dagster's console log,
    for callers that print their own summary of many syncs."""
    job = defs.resolve_job_def(SYNC_JOB)
    run_config = {"ops": {STREAM_STEP: {"config": {"full": full}}}}
    if log_level:
        run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
    result = job.execute_in_process(
        run_config=run_config,
        partition_key=current_partition_key(),
        instance=instance or _instance(),
        raise_on_error=False,
    )
    summary = SyncSummary(success=result.success, run_id=result.run_id)
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        group, name = materialization.asset_key.path[0], materialization.asset_key.path[-1]
        metadata = {key: _value(value) for key, value in materialization.metadata.items()}
        if group == "bigcommerce":
            summary.streams[name] = metadata
        elif group == "dotmailer" and name != "suppressions":
            summary.loads[name] = metadata
    failures = []
    for event in result.all_events:
        if event.is_step_success:
            summary.step_seconds[event.step_key] = round(event.event_specific_data.duration_ms / 1000, 3)
        elif event.is_step_failure:
            failures.append(event)
    if failures:
        summary.failure = "; ".join(f"{event.step_key}: {_root_cause(event.step_failure_data.error)}" for event in failures)
    return summary
