"""The enrolment clock: what "now" is for switch-on times, basket ages and the hourly budget.

One function, so that tests can move it with the sandboxes' clock instead of waiting for an hour to pass.
"""

from datetime import datetime, timezone


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
