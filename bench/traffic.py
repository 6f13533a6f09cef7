"""What a run cost the APIs: the difference of the sandboxes' counters before and after it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Traffic:
    bigcommerce_requests: dict[str, int] = field(default_factory=dict)
    bigcommerce_statuses: dict[str, int] = field(default_factory=dict)
    faults_served: dict[str, int] = field(default_factory=dict)
    dotmailer_requests: dict[str, int] = field(default_factory=dict)
    dotmailer_request_bytes: dict[str, int] = field(default_factory=dict)
    dotmailer_response_bytes: dict[str, int] = field(default_factory=dict)
    # CPU seconds the sandbox process (both APIs) spent during the run; None in results from before it was counted.
    sandbox_cpu_s: float | None = None

    @property
    def bigcommerce_total(self) -> int:
        return sum(self.bigcommerce_requests.values())

    @property
    def rate_limited(self) -> int:
        return self.bigcommerce_statuses.get("429", 0)

    @property
    def dotmailer_total(self) -> int:
        return sum(self.dotmailer_requests.values())


def _delta(after: dict, before: dict) -> dict[str, int]:
    change = Counter(after)
    change.subtract(Counter(before))
    return {key: value for key, value in sorted(change.items()) if value}


def traffic_between(before: dict, after: dict) -> Traffic:
    return Traffic(
        bigcommerce_requests=_delta(after["bigcommerce"]["requests"], before["bigcommerce"]["requests"]),
        bigcommerce_statuses=_delta(after["bigcommerce"]["status_counts"], before["bigcommerce"]["status_counts"]),
        faults_served=_delta(after["bigcommerce"]["faults_served"], before["bigcommerce"]["faults_served"]),
        dotmailer_requests=_delta(after["dotmailer_bytes"]["requests"], before["dotmailer_bytes"]["requests"]),
        dotmailer_request_bytes=_delta(after["dotmailer_bytes"]["request_bytes"],
                                       before["dotmailer_bytes"]["request_bytes"]),
        dotmailer_response_bytes=_delta(after["dotmailer_bytes"]["response_bytes"],
                                        before["dotmailer_bytes"]["response_bytes"]),
        sandbox_cpu_s=after["dotmailer_bytes"]["cpu_s"] - before["dotmailer_bytes"]["cpu_s"],
    )
