"""Finding the program connector.yaml names, and saying plainly why it cannot take contacts."""

from __future__ import annotations

from dataclasses import dataclass

from bc_pipeline.dotmailer.client import DotmailerClient
from bc_pipeline.dotmailer.programs import Program, list_programs


@dataclass(frozen=True)
class ProgramLookup:
    program: Program | None
    problem: str | None


def find_program(client: DotmailerClient, name: str) -> ProgramLookup:
    """The Active program called `name` (case and surrounding spaces ignored), or the reason there is none."""
    wanted = name.strip().lower()
    matches = [program for program in list_programs(client) if (program.name or "").strip().lower() == wanted]
    if not matches:
        return ProgramLookup(None, f"dotmailer has no program called '{name}'; check programs in connector.yaml")
    active = [program for program in matches if program.is_active]
    if not active:
        program = matches[0]
        return ProgramLookup(
            program,
            f"dotmailer program '{name}' (id {program.id}) is {program.status}, not Active: contacts wait until "
            "it is activated in dotmailer",
        )
    return ProgramLookup(active[0], None)
