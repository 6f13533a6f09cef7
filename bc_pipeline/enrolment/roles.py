"""The three automations and the program connector.yaml chooses for each."""

from __future__ import annotations

from bc_pipeline.settings import ConnectorSettings

NEW_CUSTOMERS = "new_customers"
NEW_SUBSCRIBERS = "new_subscribers"
ABANDONED_BASKETS = "abandoned_baskets"
ROLES = (NEW_CUSTOMERS, NEW_SUBSCRIBERS, ABANDONED_BASKETS)


def program_name(settings: ConnectorSettings, role: str) -> str | None:
    """The program chosen for `role`, or None when that automation is off (unset, blank or `none`)."""
    if role not in ROLES:
        raise ValueError(f"unknown enrolment role {role!r}; expected one of {', '.join(ROLES)}")
    name = (getattr(settings.programs, role) or "").strip()
    return None if name.lower() in ("", "none") else name
