"""What dotmailer should hold, worked out in plain Python from the BigCommerce sandbox's export.

Written independently of the SQL transform so that a mistake in one shows up against the other.
"""

import re

INCOMPLETE = 0
PLAUSIBLE_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def key(email: str | None) -> str:
    return (email or "").strip().lower()


def store_contacts(bigcommerce) -> set[str]:
    """Every email the store knows: customers, guest buyers of real orders, subscribers."""
    emails = {key(c["email"]) for c in bigcommerce.export("customers")}
    emails |= {key(s["email"]) for s in bigcommerce.export("subscribers")}
    emails |= {
        key(o["billing_address"].get("email"))
        for o in bigcommerce.export("orders")
        if o["customer_id"] == 0 and o["status_id"] != INCOMPLETE and not o.get("is_deleted")
    }
    return {e for e in emails if e}


def consented_subscribers(bigcommerce) -> set[str]:
    return {key(s["email"]) for s in bigcommerce.export("subscribers") if "marketing_newsletter" in s["consents"]}


def book_members(dotmailer, name: str) -> dict[str, dict]:
    book = next(b for b in dotmailer.state()["address_books"] if b["name"] == name)
    return {key(c["email"]): c for c in book["contacts"]}
