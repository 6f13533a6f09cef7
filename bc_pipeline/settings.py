"""The connector's settings: connector.yaml for what a store owner chooses, env vars for secrets and paths.

Validated when loaded, with messages that say what to change in which file.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bc_pipeline.dotmailer.address_books import validate_address_book_name
from bc_pipeline.dotmailer.data_fields import validate_data_field_name
from bc_pipeline.transform.contact_sources import contact_source

DEFAULT_FIELD_MAPPING = {
    "FIRSTNAME": "first_name",
    "LASTNAME": "last_name",
    "FULLNAME": "full_name",
    "POSTCODE": "postcode",
}


class SettingsError(ValueError):
    """connector.yaml (or the environment) is not usable; the message says what to fix."""


class Programs(BaseModel):
    """dotmailer programs that new contacts are enrolled into; none switches that automation off."""

    model_config = ConfigDict(extra="forbid")

    new_customers: str | None = None
    new_subscribers: str | None = None
    abandoned_baskets: str | None = None


class ConnectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customers_address_book: str | None = "Store customers"
    subscribers_address_book: str | None = "Store subscribers"
    history_start_date: date = date(2024, 1, 1)
    data_sync: bool = True
    create_missing_data_fields: bool = True
    programs: Programs = Field(default_factory=Programs)
    # dotmailer data field -> BigCommerce source field (see `bc-pipeline mapping show` for the sources).
    field_mapping: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_FIELD_MAPPING))

    @field_validator("customers_address_book", "subscribers_address_book")
    @classmethod
    def _book_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value or value.lower() == "none":
            return None
        return validate_address_book_name(value)

    @field_validator("field_mapping")
    @classmethod
    def _mapping_targets(cls, mapping: dict[str, str]) -> dict[str, str]:
        normalised: dict[str, str] = {}
        for target, source in mapping.items():
            validate_data_field_name(target)
            if contact_source(source) is None:
                raise ValueError(
                    f"data field '{target}' maps from '{source}', which is not a source; "
                    "`bc-pipeline mapping show` lists them"
                )
            upper = target.upper()
            if upper in normalised:
                raise ValueError(f"data field '{upper}' is mapped twice")
            normalised[upper] = source
        return normalised

    @model_validator(mode="after")
    def _books_differ(self) -> "ConnectorSettings":
        customers, subscribers = self.customers_address_book, self.subscribers_address_book
        if customers and subscribers and customers.lower() == subscribers.lower():
            raise ValueError(
                f"customers_address_book and subscribers_address_book are both '{customers}': subscribers need "
                "their own book so that it holds only contacts with marketing consent"
            )
        return self


def settings_path() -> Path:
    return Path(os.environ.get("BC_PIPELINE_SETTINGS", "connector.yaml"))


def set_data_sync(on: bool, path: Path | None = None) -> None:
    """Switch the 5-minute sync in connector.yaml, editing only its `data_sync` line so comments survive."""
    path = path or settings_path()
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    line = f"data_sync: {'true' if on else 'false'}"
    text, replaced = re.subn(r"(?m)^data_sync:.*$", line, text)
    if not replaced:
        text = text + ("" if text.endswith("\n") or not text else "\n") + line + "\n"
    path.write_text(text, encoding="utf-8")
    load_settings(path)


def load_settings(path: Path | None = None) -> ConnectorSettings:
    path = path or settings_path()
    if not path.exists():
        return ConnectorSettings()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{path} must be a mapping of setting names to values")
    try:
        return ConnectorSettings.model_validate(raw)
    except ValidationError as exc:
        problems = "\n".join(
            f"  - {'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise SettingsError(f"{path} has settings that cannot be used:\n{problems}") from None
