"""Run a sync in this process ("Sync now"), and summarise what it moved."""

import os
from collections import Counter
from dataclasses import dataclass, field

import dagster as dg

from bc_pipeline.automation import SYNC_JOB, SYNC_SELECTION, current_partition_key
from bc_pipeline.sync_rounds import (
    MAX_ROUNDS,
    RESUMES_TAG,
    ROUNDS_IN_PROCESS_TAG,
    STOP_AT_QUOTA_WAIT_S,
    resume_selection,
    stopped_reading,
    sync_run_config,
)

# What each round counts afresh (numbers, counts by reason, import ids), so a sync's is the rounds' sum; any other
# value is the last round's.
ROUND_TALLIES = frozenset({
    "rows_staged", "requests", "rate_limited_429s",
    "contacts_sent", "created", "updated", "failed", "removed_from_book", "resumed_imports",
    "sent", "imported", "deleted", "failure_reasons", "import_ids",
})


@dataclass
class SyncSummary:
    success: bool
    run_id: str
    # Runs that continued the reading after the first stopped at a long wait for the quota (see sync_rounds).
    resumed_by: list[str] = field(default_factory=list)
    streams: dict[str, dict] = field(default_factory=dict)
    loads: dict[str, dict] = field(default_factory=dict)  # address books and Insight collections
    # Seconds each step that succeeded took, over all rounds, in the order they first ended: where a sync's time
    # went. Then the same for each round.
    step_seconds: dict[str, float] = field(default_factory=dict)
    round_step_seconds: list[dict[str, float]] = field(default_factory=list)
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


def _add_up(before: dict, now: dict) -> dict:
    merged = {**before, **now}
    for key in ROUND_TALLIES & before.keys() & now.keys():
        earlier, value = before[key], now[key]
        merged[key] = dict(Counter(earlier) + Counter(value)) if isinstance(value, dict) else earlier + value
    return merged


def _add_round(summary: SyncSummary | None, result: dg.ExecuteInProcessResult) -> SyncSummary:
    if summary is None:
        summary = SyncSummary(success=result.success, run_id=result.run_id)
    else:
        summary.success = result.success
        summary.resumed_by.append(result.run_id)
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        group, name = materialization.asset_key.path[0], materialization.asset_key.path[-1]
        metadata = {key: _value(value) for key, value in materialization.metadata.items()}
        if group == "bigcommerce":
            summary.streams[name] = _add_up(summary.streams.get(name, {}), metadata)
        elif group == "dotmailer" and name != "suppressions":
            summary.loads[name] = _add_up(summary.loads.get(name, {}), metadata)
    failures, steps = [], {}
    for event in result.all_events:
        if event.is_step_success:
            steps[event.step_key] = round(event.event_specific_data.duration_ms / 1000, 3)
        elif event.is_step_failure:
            failures.append(event)
    summary.round_step_seconds.append(steps)
    for step, seconds in steps.items():
        summary.step_seconds[step] = round(summary.step_seconds.get(step, 0) + seconds, 3)
    if failures:
        summary.failure = "; ".join(f"{event.step_key}: {_root_cause(event.step_failure_data.error)}" for event in failures)
    return summary


def run_sync(defs: dg.Definitions, *, full: bool = False, instance: dg.DagsterInstance | None = None,
             log_level: str | None = None, stop_at_quota_wait_s: float = STOP_AT_QUOTA_WAIT_S) -> SyncSummary:
    """A sync in this process, in as many rounds as the store's quota makes it take (see `sync_rounds`).
    `log_level` (e.g. "WARNING") quietens Dagster's console log, for callers that print their own summary of many
    syncs."""
    job = defs.resolve_job_def(SYNC_JOB)
    instance = instance or _instance()
    partition_key = current_partition_key()
    summary, selection, left, previous = None, None, None, None
    for _ in range(MAX_ROUNDS):
        run_config = sync_run_config(full=full and left is None, resuming=left,
                                     stop_at_quota_wait_s=stop_at_quota_wait_s)
        if log_level:
            run_config["loggers"] = {"console": {"config": {"log_level": log_level}}}
        result = job.execute_in_process(
            run_config=run_config,
            partition_key=partition_key,
            instance=instance,
            raise_on_error=False,
            asset_selection=selection,
            tags={ROUNDS_IN_PROCESS_TAG: "true", **({RESUMES_TAG: previous} if previous else {})},
        )
        summary, previous = _add_round(summary, result), result.run_id
        left = stopped_reading(event.event_specific_data.materialization
                               for event in result.get_asset_materialization_events())
        if not result.success or left is None:
            break
        selection = resume_selection(defs.resolve_asset_graph(), SYNC_SELECTION, left)
    return summary
