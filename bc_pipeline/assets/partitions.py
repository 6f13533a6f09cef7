"""Daily partitions by modification date (UTC), from the history start date in connector.yaml."""

from __future__ import annotations

from datetime import datetime, timezone

import dagster as dg

from bc_pipeline.settings import load_settings

PARTITION_DATE_FORMAT = "%Y-%m-%d"


def daily_partitions() -> dg.DailyPartitionsDefinition:
    # end_offset=1: today's partition exists, so the 5-minute sync can target it.
    start = load_settings().history_start_date
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC", end_offset=1, fmt=PARTITION_DATE_FORMAT)


def partition_window(context: dg.AssetExecutionContext, now: datetime) -> tuple[datetime, datetime] | None:
    """The date window a run must scan, or None for the usual incremental read since the watermark.

    A run of today's partition alone (the scheduled sync, "Sync now") is incremental; a backfill,
    or any run over past days, re-reads exactly its partitions' time range.
    """
    if not context.has_partition_key_range:
        return None
    keys = context.partition_key_range
    today = now.astimezone(timezone.utc).strftime(PARTITION_DATE_FORMAT)
    if keys.start == keys.end == today and "dagster/backfill" not in context.run.tags:
        return None
    window = context.partition_time_window
    return window.start, min(window.end, now)
