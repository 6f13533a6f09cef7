"""An enrolment call that got no answer is never resent: dotmailer may have enrolled its contacts already."""

from datetime import datetime, timedelta, timezone

from bc_pipeline.dotmailer.errors import DotmailerUnavailable
from bc_pipeline.enrolment.candidates import due_contacts
from bc_pipeline.enrolment.enrol import EnrolmentResult, enrol_within_budget
from bc_pipeline.enrolment.ledger import ensure_enrolment_ledger
from bc_pipeline.warehouse import open_warehouse

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
PROGRAM_ID = 4242


class SilentDotmailer:
    """Every call times out after being sent, as a dropped connection would."""

    def __init__(self):
        self.calls = 0

    def call(self, *args, **kwargs):
        self.calls += 1
        raise DotmailerUnavailable("dotmailer enrol contacts: read timed out")


def test_contacts_of_an_unanswered_call_are_recorded_and_not_resent():
    conn = open_warehouse(":memory:")
    ensure_enrolment_ledger(conn)
    conn.execute(
        """INSERT INTO bigcommerce.customers (id, email, date_created, raw, staged_at)
           SELECT i, 'c' || i || '@enrol.example', $created, '{}', $created FROM range(1, 31) t(i)""",
        {"created": NOW - timedelta(minutes=5)})
    conn.execute("INSERT INTO dotmailer.contact_ids SELECT 'c' || i || '@enrol.example', 1000 + i, $now "
                 "FROM range(1, 31) t(i)", {"now": NOW})
    switched_on = NOW - timedelta(hours=1)
    due = due_contacts(conn, "new_customers", PROGRAM_ID, switched_on)
    assert len(due.ready) == 30

    client = SilentDotmailer()
    result = EnrolmentResult(role="new_customers", program_name="Welcome", program_id=PROGRAM_ID)
    enrol_within_budget(conn, client, result, due.ready, NOW)

    assert (client.calls, result.enrolled, result.failed, result.waiting) == (1, 0, 25, 5)
    assert conn.execute("SELECT outcome, contacts FROM dotmailer.enrolment_calls").fetchall() == [("no_answer", 25)]
    still_due = due_contacts(conn, "new_customers", PROGRAM_ID, switched_on)
    assert len(still_due.ready) == 5
    assert {contact_id for _, contact_id in still_due.ready}.isdisjoint(
        {row[0] for row in conn.execute("SELECT contact_id FROM dotmailer.enrolment_failures").fetchall()})
