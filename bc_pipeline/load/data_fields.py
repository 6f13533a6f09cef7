"""Check the field mapping against the dotmailer account's data fields, creating missing ones if allowed."""

from __future__ import annotations

from dataclasses import dataclass, field

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.data_fields import create_data_field, list_data_fields
from bc_pipeline.transform.contact_sources import contact_source


class MappingProblem(ValueError):
    """The mapping cannot be loaded into this account; the message lists every problem."""


@dataclass
class MappingCheck:
    created: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_mapping(client: DotmailerClient, mapping: dict[str, str], *, create_missing: bool) -> MappingCheck:
    """Every target must exist with a type its source fits; missing ones are created when allowed."""
    existing = {f.name.upper(): f for f in list_data_fields(client)}
    check = MappingCheck()
    for target, source in sorted(mapping.items()):
        wanted = contact_source(source).data_type
        current = existing.get(target.upper())
        if current is None:
            if create_missing:
                create_data_field(client, target, wanted)
                check.created.append(target)
            else:
                check.problems.append(
                    f"data field {target} does not exist in dotmailer (create it as {wanted}, "
                    "or set create_missing_data_fields: true)"
                )
        elif current.type != wanted and current.type != "String":
            # A String field can hold any value as text; other types must match.
            check.problems.append(
                f"data field {target} is {current.type} in dotmailer but {source} is {wanted}"
            )
    return check


def ensure_mapping(client: DotmailerClient, mapping: dict[str, str], *, create_missing: bool) -> MappingCheck:
    check = check_mapping(client, mapping, create_missing=create_missing)
    if check.problems:
        raise MappingProblem("the field mapping does not fit this dotmailer account:\n  - " + "\n  - ".join(check.problems))
    return check
