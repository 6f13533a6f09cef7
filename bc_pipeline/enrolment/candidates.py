"""Who is due an enrolment: contacts created after switch-on, with a dotmailer contact id, not yet enrolled.

Staging (`bigcommerce.*`) says when a customer or subscriber was created; `dotmailer.contact_ids` says whether
dotmailer knows them yet. A contact without an id waits for the import that creates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from bc_pipeline.enrolment.roles import NEW_CUSTOMERS, NEW_SUBSCRIBERS

# One row per email: the BigCommerce record that makes the contact "new" for each role. BigCommerce gives creation
# times to the second, so a contact created in the very second automation was switched on counts as new: one created
# just after the switch-on would otherwise be read as created before it, and never enrolled.
_NEW_CONTACTS = {
    NEW_CUSTOMERS: """
        SELECT lower(trim(email)) AS email_key, min(date_created) AS created_at
        FROM bigcommerce.customers
        WHERE coalesce(trim(email), '') <> ''
        GROUP BY 1
        HAVING min(date_created) >= date_trunc('second', $switched_on_at)""",
    # A subscriber is new once it has consent and its subscriber record was created after switch-on.
    NEW_SUBSCRIBERS: """
        SELECT lower(trim(email)) AS email_key, min(date_created) AS created_at
        FROM bigcommerce.subscribers
        WHERE coalesce(trim(email), '') <> ''
        GROUP BY 1
        HAVING min(date_created) >= date_trunc('second', $switched_on_at) AND bool_or(marketing_newsletter)""",
}

_DUE = """
WITH new_contacts AS ({new_contacts})
SELECT n.email_key, i.contact_id
FROM new_contacts n
LEFT JOIN dotmailer.contact_ids i USING (email_key)
WHERE NOT EXISTS (SELECT 1 FROM dotmailer.suppressions s WHERE s.email_key = n.email_key)
  AND NOT EXISTS (SELECT 1 FROM dotmailer.enrolments e
                  WHERE e.program_id = $program_id AND (e.contact_id = i.contact_id OR e.email_key = n.email_key))
  AND NOT EXISTS (SELECT 1 FROM dotmailer.enrolment_failures f
                  WHERE f.program_id = $program_id AND f.contact_id = i.contact_id)
ORDER BY n.created_at, n.email_key
"""


@dataclass(frozen=True)
class DueContacts:
    """Contacts to enrol now (email_key, contact_id), and how many wait for a dotmailer contact id."""

    ready: list[tuple[str, int]]
    awaiting_contact_id: int


def due_contacts(
    conn: duckdb.DuckDBPyConnection, role: str, program_id: int, switched_on_at: datetime
) -> DueContacts:
    rows = conn.execute(
        _DUE.format(new_contacts=_NEW_CONTACTS[role]),
        {"switched_on_at": switched_on_at, "program_id": program_id},
    ).fetchall()
    by_contact = {contact_id: (email_key, contact_id) for email_key, contact_id in rows if contact_id is not None}
    ready = list(by_contact.values())
    return DueContacts(ready=ready, awaiting_contact_id=sum(1 for _, contact_id in rows if contact_id is None))
