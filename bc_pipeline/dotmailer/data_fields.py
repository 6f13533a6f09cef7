"""Contact data fields: list, validate, create and delete them through the v2 API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.errors import InvalidDataField

DATA_FIELD_TYPES = ("String", "Numeric", "Date", "Boolean")
DATA_FIELD_VISIBILITIES = ("Private", "Public")
MAX_DATA_FIELD_NAME_LENGTH = 20
_NAME_PATTERN = re.compile(r"[A-Za-z0-9_-]+")

# Names dotmailer keeps for its own merge tags and system columns (from Dotdigital's help on data fields).
RESERVED_DATA_FIELD_NAMES = frozenset(
    {
        "account",
        "campaign",
        "campaignid",
        "contact",
        "contact_api_id",
        "contactid",
        "email",
        "hcontactid",
        "hemail",
        "hemail256",
        "id",
        "messagecontent",
        "mobilenumberid",
        "notes",
        "unsubscribed",
        "uniquecontactid",
    }
)


@dataclass(frozen=True)
class DataField:
    name: str
    type: str
    visibility: str | None = None
    default_value: Any = None

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> DataField:
        return cls(
            name=str(payload.get("name") or ""),
            type=str(payload.get("type") or ""),
            visibility=payload.get("visibility"),
            default_value=payload.get("defaultValue"),
        )


def validate_data_field_name(name: str) -> str:
    """Return the name if dotmailer will accept it, else raise InvalidDataField saying why."""
    if not name:
        raise InvalidDataField("a data field needs a name")
    if len(name) > MAX_DATA_FIELD_NAME_LENGTH:
        raise InvalidDataField(
            f"data field name {name!r} is {len(name)} characters; dotmailer allows at most {MAX_DATA_FIELD_NAME_LENGTH}"
        )
    if not _NAME_PATTERN.fullmatch(name):
        raise InvalidDataField(
            f"data field name {name!r} may only contain letters A-Z, digits, underscores and hyphens"
        )
    if name.lower() in RESERVED_DATA_FIELD_NAMES:
        raise InvalidDataField(f"data field name {name!r} is reserved by dotmailer; choose another name")
    return name


def validate_data_field_type(field_type: str) -> str:
    """The canonical spelling of a data field type (case-insensitive input), else InvalidDataField."""
    for known in DATA_FIELD_TYPES:
        if field_type.strip().lower() == known.lower():
            return known
    raise InvalidDataField(f"data field type {field_type!r} is not one of {', '.join(DATA_FIELD_TYPES)}")


def list_data_fields(client: DotmailerClient) -> list[DataField]:
    payload = client.call("GET", "/v2/data-fields", operation="list data fields")
    return [DataField.from_payload(item) for item in payload or [] if isinstance(item, dict)]


def create_data_field(
    client: DotmailerClient,
    name: str,
    field_type: str,
    *,
    visibility: str = "Private",
    default_value: Any = None,
) -> DataField:
    """Create a data field after checking its name and type; dotmailer refuses a duplicate with
    ERROR_NON_UNIQUE_DATAFIELD (raised as DotmailerApiError with that `code`)."""
    definition = {
        "name": validate_data_field_name(name),
        "type": validate_data_field_type(field_type),
        "visibility": _validate_visibility(visibility),
        "defaultValue": default_value,
    }
    payload = client.call("POST", "/v2/data-fields", operation=f"create data field {name!r}", json_body=definition)
    return DataField.from_payload(payload if isinstance(payload, dict) and payload.get("name") else definition)


def delete_data_field(client: DotmailerClient, name: str) -> bool:
    """Delete a data field. dotmailer keeps a field something (e.g. a program) still uses: that answers False
    or raises DotmailerApiError with HTTP 409."""
    payload = client.call("DELETE", f"/v2/data-fields/{quote(name, safe='')}", operation=f"delete data field {name!r}")
    return bool(payload.get("result", True)) if isinstance(payload, dict) else True


def _validate_visibility(visibility: str) -> str:
    for known in DATA_FIELD_VISIBILITIES:
        if visibility.strip().lower() == known.lower():
            return known
    raise InvalidDataField(f"data field visibility {visibility!r} is not one of {', '.join(DATA_FIELD_VISIBILITIES)}")
