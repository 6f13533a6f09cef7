"""A store that keeps changing, synced every 5 minutes on a compressed clock: each incremental sync asks BigCommerce
for one request per stream, one per 250 changed rows of a stream and at most REQUESTS_BEYOND_PAGES (2) more; it
calls dotmailer only when the store changed; and after the last one the store, staging and dotmailer agree.

Timings are the benchmark's business (`bench/load.py`, run by `make chaos`); this proves outcomes only.
"""

from __future__ import annotations

from bc_pipeline_tests.reliability.harness import PAGE_SIZE, load_problems, run_load

# A compressed hour: quiet intervals, a trickle, and a sale's burst whose orders alone fill more than one page.
CHANGES_PER_INTERVAL = [0, 12, 40, 90, 0, 25, 800, 60, 5, 0]
SMALL_STORE = dict(customers=120, subscribers=80, orders=200, products=40)


def test_each_sync_of_a_busy_hour_costs_what_its_changes_explain(start_pipeline):
    outcome = run_load(start_pipeline(bigcommerce=SMALL_STORE), CHANGES_PER_INTERVAL)

    assert any(rows > PAGE_SIZE for sync in outcome.syncs for rows in sync.changed_rows.values()), \
        "the burst should span pages of one stream, or proportionality is untested"
    assert any(not sync.store_changed for sync in outcome.syncs), "a quiet interval should be among them"
    assert load_problems(outcome.syncs) == []
    assert outcome.problems.all() == [], "\n".join(outcome.problems.all()[:40])
