"""dotmailer's 20 program-enrolment calls per rolling hour per account, shared by all three automations."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

HOURLY_ENROLMENT_CALLS = 20
ALLOWANCE_WINDOW = timedelta(hours=1)
# Our clock and dotmailer's never agree to the second; counting a call a minute longer than dotmailer does
# means we never spend a call dotmailer still counts.
CLOCK_MARGIN = timedelta(minutes=1)
# After dotmailer says the allowance is spent (another app may share it), leave it alone for a while.
REFUSAL_PAUSE = timedelta(minutes=15)

ACCEPTED = "accepted"
ALLOWANCE_EXCEEDED = "allowance_exceeded"
PROGRAM_NOT_ACTIVE = "program_not_active"
NO_ANSWER = "no_answer"
REFUSED = "refused"


def calls_left(conn: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Enrolment calls that may still be made in the hour ending `now`."""
    made, last_refusal = conn.execute(
        """SELECT count(*) FILTER (WHERE called_at > $window_start),
                  max(called_at) FILTER (WHERE outcome = $exceeded)
           FROM dotmailer.enrolment_calls""",
        {"window_start": now - ALLOWANCE_WINDOW - CLOCK_MARGIN, "exceeded": ALLOWANCE_EXCEEDED},
    ).fetchall()[0]
    if last_refusal is not None and last_refusal > now - REFUSAL_PAUSE:
        return 0
    return max(0, HOURLY_ENROLMENT_CALLS - made)


def record_call(
    conn: duckdb.DuckDBPyConnection,
    called_at: datetime,
    role: str,
    program_id: int,
    contacts: int,
    outcome: str,
    enrolment_id: str | None = None,
    detail: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO dotmailer.enrolment_calls VALUES (?, ?, ?, ?, ?, ?, ?)",
        [called_at, role, program_id, contacts, outcome, enrolment_id, detail],
    )

