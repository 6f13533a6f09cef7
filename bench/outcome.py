"""One measured run of one extractor on one scenario, as every table of the report reads it."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.measure import Measured
from bench.traffic import Traffic


@dataclass(frozen=True)
class RunOutcome:
    tool: str
    scenario: str
    measured: Measured
    traffic: Traffic
    # Distinct ids per stream the run delivered (line items: rows).
    rows: dict[str, int] = field(default_factory=dict)
    # Ids in the store's export that the run did not deliver, per stream.
    lost: dict[str, int] = field(default_factory=dict)
    note: str = ""
    # Seconds per Dagster step in each of the sync's rounds, as the sync reported them (our sync only).
    round_steps: list[dict[str, float]] = field(default_factory=list)

    @property
    def steps(self) -> dict[str, float]:
        """Seconds per Dagster step over all the sync's rounds."""
        total: dict[str, float] = {}
        for steps in self.round_steps:
            for step, seconds in steps.items():
                total[step] = total.get(step, 0.0) + seconds
        return total

    @property
    def records(self) -> int:
        return sum(self.rows.values())

    @property
    def ok(self) -> bool:
        return self.measured.returncode == 0


def lost_ids(expected: dict[str, set[int]], delivered: dict[str, set[int]]) -> dict[str, int]:
    return {stream: len(ids - delivered.get(stream, set())) for stream, ids in expected.items()}
