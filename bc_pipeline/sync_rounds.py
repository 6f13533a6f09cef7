"""A sync in rounds: read what the store's quota allows now, transform and load it while the quota refills, then
finish the reading in a run of its own.

A quota-bound extraction spends a window's requests in a fraction of the window and waits for the rest of it
(at 150 requests per 30 s, about 20 s of every 30). The warehouse has one writer, so no load can run during that
wait while the extraction holds it. Stopped instead, the extraction hands over to the transforms and loads, and
the next round's extraction waits out whatever is left of the window. Every round ends in the state a finished
sync leaves, only with rows still to read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import dagster as dg

from bc_pipeline.assets.extract import MORE_TO_READ, QUOTA_REFILLS_AT

STREAM_STEP = "bigcommerce_streams"

# Transforming and loading what a round staged takes seconds; a shorter wait is not worth a round's start-up.
STOP_AT_QUOTA_WAIT_S = 10.0

# On a resuming round: the run it continues, so the rounds of one sync can be found from its last.
RESUMES_TAG = "bc_pipeline/resumes"
# On the rounds of "Sync now", which its own process runs one after another.
ROUNDS_IN_PROCESS_TAG = "bc_pipeline/rounds_in_process"

# Rounds end by themselves: each finishes windows already open and opens none, and reads at least half a window's
# quota before it may stop. This bounds "Sync now" should that ever fail to hold.
MAX_ROUNDS = 1_000


@dataclass(frozen=True)
class StoppedReading:
    """What a round left: the streams it stopped reading, and when the quota it spent refills (ISO 8601)."""

    streams: list[str]
    quota_refills_at: str | None


def stopped_reading(materializations: Iterable[dg.AssetMaterialization]) -> StoppedReading | None:
    """What a run's stream materializations say is left to read; None when it read everything."""
    streams, refills = [], []
    for materialization in materializations:
        metadata = materialization.metadata
        if getattr(metadata.get(MORE_TO_READ), "value", False):
            streams.append(materialization.asset_key.path[-1])
            refills.append(metadata[QUOTA_REFILLS_AT].value)
    # ISO 8601 times in UTC sort as text.
    return StoppedReading(sorted(streams), max(refills)) if streams else None


def rounds_of(instance: dg.DagsterInstance, last: dg.DagsterRun) -> list[dg.DagsterRun]:
    """The rounds of the sync whose latest round is `last`, first to last (one run for a sync read in one)."""
    rounds = [last]
    while len(rounds) < MAX_ROUNDS and (earlier := rounds[0].tags.get(RESUMES_TAG)):
        run = instance.get_run_by_id(earlier)
        if run is None:
            # Deleted from the run history: the rounds that remain are all that can be told.
            break
        rounds.insert(0, run)
    return rounds


def sync_run_config(*, full: bool = False, resuming: StoppedReading | None = None,
                    stop_at_quota_wait_s: float = STOP_AT_QUOTA_WAIT_S) -> dict:
    config = {"full": full, "stop_at_quota_wait_s": stop_at_quota_wait_s, "finish_stopped": resuming is not None,
              "quota_refills_at": resuming.quota_refills_at if resuming else None}
    return {"ops": {STREAM_STEP: {"config": config}}}


def resume_selection(asset_graph, job_selection: dg.AssetSelection, left: StoppedReading) -> Sequence[dg.AssetKey]:
    """A resuming round's assets: the streams left unread and what the sync builds from them. The rest was
    transformed and loaded in the round before."""
    streams = dg.AssetSelection.assets(*(dg.AssetKey(["bigcommerce", stream]) for stream in left.streams))
    return sorted((streams.downstream() & job_selection).resolve(asset_graph))
