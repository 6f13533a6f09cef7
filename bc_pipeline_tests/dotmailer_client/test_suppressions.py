"""Suppressed-since: every suppression, across pages, with its date and reason."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from bc_pipeline.dotmailer.suppressions import iterate_suppressed_since, suppressed_since


def test_suppressions_are_read_across_pages(client, sandbox):
    reasons = ["Unsubscribed", "HardBounced", "IspComplained", "Unsubscribed", "DomainSuppression"]
    for n, reason in enumerate(reasons):
        sandbox.suppress(f"person{n}@example.com", reason=reason)

    rows = list(iterate_suppressed_since(client, date(2000, 1, 1), page_size=2))

    assert sorted((row.email, row.reason) for row in rows) == sorted(
        (f"person{n}@example.com", reason) for n, reason in enumerate(reasons)
    )
    assert all(row.date_removed and row.date_removed.tzinfo for row in rows)
    requests = sandbox.stats()["requests"]
    assert sum(count for call, count in requests.items() if "suppressed-since" in call) == 3


def test_only_suppressions_after_the_date_are_returned(client, sandbox):
    sandbox.suppress("old@example.com")
    later = datetime.now(timezone.utc) + timedelta(days=1)

    assert suppressed_since(client, later) == []
    assert [row.email for row in suppressed_since(client, later - timedelta(days=2))] == ["old@example.com"]
