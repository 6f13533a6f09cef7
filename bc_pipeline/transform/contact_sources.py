"""What a field mapping can read: each source is a column of `dotmailer.contacts` and a dotmailer type.

`dotmailer.contacts` (built in contacts.py) has one row per email with the customer's own fields,
their first address, the guest/subscriber fallbacks and figures computed from order history.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ContactSource:
    name: str
    data_type: str  # dotmailer data field type: String, Numeric, Date or Boolean
    description: str


_SOURCES = (
    ContactSource("first_name", "String", "first name (customer, else subscriber, else guest billing name)"),
    ContactSource("last_name", "String", "last name (customer, else subscriber, else guest billing name)"),
    ContactSource("full_name", "String", "first and last name"),
    ContactSource("company", "String", "company"),
    ContactSource("phone", "String", "phone"),
    ContactSource("customer_id", "Numeric", "BigCommerce customer id (empty for guests and subscribers)"),
    ContactSource("customer_group_id", "Numeric", "customer group id"),
    ContactSource("notes", "String", "staff notes on the customer"),
    ContactSource("origin_channel_id", "Numeric", "channel the customer registered on"),
    ContactSource("date_created", "Date", "when the customer registered"),
    ContactSource("date_modified", "Date", "when the customer record last changed"),
    ContactSource("contact_type", "String", "customer, guest or subscriber"),
    ContactSource("address1", "String", "first address: line 1 (billing address for guests)"),
    ContactSource("address2", "String", "first address: line 2"),
    ContactSource("city", "String", "first address: city"),
    ContactSource("state", "String", "first address: state or province"),
    ContactSource("postcode", "String", "first address: postal code"),
    ContactSource("country", "String", "first address: country"),
    ContactSource("country_code", "String", "first address: ISO country code"),
    ContactSource("order_count", "Numeric", "number of orders (not incomplete, not archived)"),
    ContactSource("total_spend", "Numeric", "sum of order totals including tax"),
    ContactSource("average_order_value", "Numeric", "total spend divided by number of orders"),
    ContactSource("first_order_date", "Date", "date of the first order"),
    ContactSource("last_order_date", "Date", "date of the last order"),
    ContactSource("last_order_id", "Numeric", "id of the last order"),
    ContactSource("subscriber_status", "String", "subscribed, unsubscribed or not subscribed (newsletter consent)"),
    ContactSource("store_name", "String", "the store's name"),
)

CONTACT_SOURCES: dict[str, ContactSource] = {source.name: source for source in _SOURCES}

# A customer's form fields are mapped by their name, attributes by their id (the customer object carries no
# attribute names): `form_field:How did you hear about us?`, `attribute:1`.
FORM_FIELD_PREFIX = "form_field:"
ATTRIBUTE_PREFIX = "attribute:"
FORM_FIELD_SOURCES = ContactSource(f"{FORM_FIELD_PREFIX}<name>", "String", "the customer's form field of that name")
ATTRIBUTE_SOURCES = ContactSource(f"{ATTRIBUTE_PREFIX}<id>", "String", "the customer's value of that attribute id")


def contact_source(name: str) -> ContactSource | None:
    """The source a mapping names, or None if there is no such source."""
    if name in CONTACT_SOURCES:
        return CONTACT_SOURCES[name]
    if name.startswith(FORM_FIELD_PREFIX) and name.removeprefix(FORM_FIELD_PREFIX).strip():
        return ContactSource(name, FORM_FIELD_SOURCES.data_type, FORM_FIELD_SOURCES.description)
    if name.startswith(ATTRIBUTE_PREFIX) and name.removeprefix(ATTRIBUTE_PREFIX).isdigit():
        return ContactSource(name, ATTRIBUTE_SOURCES.data_type, ATTRIBUTE_SOURCES.description)
    return None
