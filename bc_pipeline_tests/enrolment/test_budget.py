"""20 enrolment calls per rolling hour across all programs: a burst waits for later windows, nothing dropped;
a program that is not Active is reported and retried later."""

from datetime import timedelta

from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.enrolment.conftest import (
    PROGRAMS,
    add_to_store,
    contact_ids_by_email,
    enrol_now,
    enrolled_contacts,
    fast_defs,
    ledger_rows,
    new_customers,
    program_id,
)

DEFS = fast_defs()
AN_HOUR_AND_A_BIT = 61 * 60


def _switch_on(pair, *roles):
    switched_on = pair.bigcommerce.clock.now() - timedelta(seconds=10)
    for role in roles:
        assert enrol_now(role, switched_on).enrolled == 0


def _most_calls_in_an_hour() -> int:
    return ledger_rows(
        """SELECT coalesce(max(n), 0) FROM (
               SELECT count(*) OVER (ORDER BY called_at
                                     RANGE BETWEEN CURRENT ROW AND INTERVAL 1 HOUR FOLLOWING) AS n
               FROM dotmailer.enrolment_calls)""")[0][0]


def test_a_burst_of_1000_new_customers_is_enrolled_within_the_hourly_budget(store):
    assert run_sync(DEFS).success
    _switch_on(store, "new_customers", "new_subscribers")
    add_to_store(store, "customers", new_customers(1000, prefix="burst"))
    add_to_store(store, "subscribers", [{"email": "burst.subscriber@enrol.example",
                                         "consents": ["marketing_newsletter"]}])
    assert run_sync(DEFS).success

    clock = store.dotmailer.clock
    first = enrol_now("new_customers", clock.now())
    # The subscribers program shares the account's allowance, which the customers just spent.
    starved = enrol_now("new_subscribers", clock.now())
    assert (first.calls, first.enrolled, first.waiting, first.problem) == (20, 500, 500, None)
    assert (starved.calls, starved.waiting) == (0, 1)

    clock.advance(AN_HOUR_AND_A_BIT)
    second = enrol_now("new_customers", clock.now())
    assert (second.calls, second.enrolled, second.waiting, second.problem) == (20, 500, 0, None)

    clock.advance(AN_HOUR_AND_A_BIT)
    subscribers = enrol_now("new_subscribers", clock.now())
    done = enrol_now("new_customers", clock.now())
    assert (subscribers.enrolled, done.calls, done.enrolled) == (1, 0, 0)

    ids = contact_ids_by_email(store)
    enrolled = enrolled_contacts(store, PROGRAMS["new_customers"])
    assert sorted(enrolled) == sorted(ids[f"burst{n}@enrol.example"] for n in range(1000))  # each exactly once
    program = program_id(store, PROGRAMS["new_customers"])
    calls = [e for e in store.dotmailer.state()["enrolments"] if e["programId"] == program]
    assert len(calls) == 40 and max(len(e["contacts"]) for e in calls) == 25
    assert _most_calls_in_an_hour() == 20
    assert ledger_rows("SELECT DISTINCT outcome FROM dotmailer.enrolment_calls") == [("accepted",)]


def test_a_draft_program_or_an_allowance_spent_elsewhere_delays_enrolment_with_nothing_dropped(store):
    assert run_sync(DEFS).success
    _switch_on(store, "new_customers")
    add_to_store(store, "customers", new_customers(30, prefix="delayed"))
    assert run_sync(DEFS).success
    program = program_id(store, PROGRAMS["new_customers"])
    clock = store.dotmailer.clock

    store.dotmailer.set_program_status(program, "Draft")
    paused = enrol_now("new_customers", clock.now())
    assert (paused.enrolled, paused.waiting, paused.calls) == (0, 30, 0)
    assert "is Draft, not Active" in paused.problem and PROGRAMS["new_customers"] in paused.problem
    assert paused.metadata()["problem"] == paused.problem
    store.dotmailer.set_program_status(program, "Active")

    # Another integration on the same dotmailer account used this hour's 20 enrolment calls.
    for _ in range(20):
        store.dotmailer.enrolment_allowance.spend(clock.now())
    refused = enrol_now("new_customers", clock.now())
    assert (refused.enrolled, refused.calls, refused.waiting) == (0, 1, 30)
    assert "allowance" in refused.problem
    held_back = enrol_now("new_customers", clock.now() + timedelta(minutes=5))
    assert (held_back.calls, held_back.waiting) == (0, 30)

    clock.advance(AN_HOUR_AND_A_BIT)
    later = enrol_now("new_customers", clock.now())
    assert (later.enrolled, later.calls, later.waiting, later.problem) == (30, 2, 0, None)
    ids = contact_ids_by_email(store)
    assert sorted(enrolled_contacts(store, PROGRAMS["new_customers"])) == sorted(
        ids[f"delayed{n}@enrol.example"] for n in range(30))
