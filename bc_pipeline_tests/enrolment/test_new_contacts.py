"""Only contacts created after automation was switched on are enrolled, each once per program."""

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


def test_only_contacts_created_after_switch_on_are_enrolled_exactly_once(store):
    assert run_sync(DEFS).success
    clock = store.bigcommerce.clock
    switched_on = (clock.now() - timedelta(seconds=10)).replace(microsecond=500_000)
    for role in ("new_customers", "new_subscribers"):
        first = enrol_now(role, switched_on)
        assert (first.enrolled, first.calls, first.problem) == (0, 0, None), first

    add_to_store(store, "customers", new_customers(3) + [
        # created before the switch, modified after it: still part of the existing base
        {"email": "old.customer@enrol.example", "date_created": (switched_on - timedelta(days=3)).isoformat()},
        # the store gives seconds only: created in the second of the switch-on, after it for all the store says
        {"email": "same.second@enrol.example", "date_created": switched_on.replace(microsecond=0).isoformat()}])
    add_to_store(store, "subscribers", [
        {"email": "keen@enrol.example", "consents": ["marketing_newsletter"]},
        {"email": "shy@enrol.example", "consents": []},
    ])
    assert run_sync(DEFS).success

    customers = enrol_now("new_customers", clock.now())
    subscribers = enrol_now("new_subscribers", clock.now())

    ids = contact_ids_by_email(store)
    assert (customers.enrolled, customers.calls) == (4, 1)
    assert sorted(enrolled_contacts(store, PROGRAMS["new_customers"])) == sorted(
        [ids[f"new{n}@enrol.example"] for n in range(3)] + [ids["same.second@enrol.example"]])
    assert (subscribers.enrolled, subscribers.calls) == (1, 1)
    assert enrolled_contacts(store, PROGRAMS["new_subscribers"]) == [ids["keen@enrol.example"]]

    # Running again, or after another sync, enrols nobody twice.
    assert run_sync(DEFS).success
    again = [enrol_now(role, clock.now()) for role in ("new_customers", "new_subscribers")]
    assert [(r.enrolled, r.calls, r.waiting) for r in again] == [(0, 0, 0), (0, 0, 0)]
    assert len(enrolled_contacts(store, PROGRAMS["new_customers"])) == 4
    assert ledger_rows("SELECT count(*) FROM dotmailer.enrolments") == [(5,)]
    assert ledger_rows(f"SELECT count(*) FROM dotmailer.enrolments WHERE program_id = "
                       f"{program_id(store, PROGRAMS['new_customers'])}") == [(4,)]
