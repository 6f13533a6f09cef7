"""Both sandboxes with every automation switched on, and helpers to add store records a sync will pick up."""

import os
import time
from datetime import timedelta

import dagster as dg
import pytest

from bc_pipeline.bigcommerce.extract import SAFETY_LAG
from bc_pipeline.definitions import defs
from bc_pipeline.enrolment.enrol import enrol_new_contacts
from bc_pipeline.resources import BigCommerceResource, DotmailerResource, WarehouseResource
from bc_pipeline.settings import load_settings
from bc_pipeline_tests.pipeline.conftest import sandboxes  # noqa: F401

PROGRAMS = {
    "new_customers": "New customers welcome",
    "new_subscribers": "New subscribers welcome",
    "abandoned_baskets": "Abandoned basket",
}


def fast_defs() -> dg.Definitions:
    """The project's definitions, polling the sandbox's imports every 0.1 s instead of every 2 s."""
    dotmailer = DotmailerResource(api_user=dg.EnvVar("DOTMAILER_API_USER"),
                                  api_password=dg.EnvVar("DOTMAILER_API_PASSWORD"), import_poll_seconds=0.1)
    return dg.Definitions(assets=defs.assets, asset_checks=defs.asset_checks, jobs=defs.jobs,
                          schedules=defs.schedules, sensors=defs.sensors,
                          resources={**defs.resources, "dotmailer": dotmailer})


def write_settings(path, programs: dict) -> None:
    lines = ["history_start_date: 2020-01-01", "programs:"]
    lines += [f"  {role}: {name if name else 'none'}" for role, name in programs.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def store(sandboxes, tmp_path, monkeypatch):  # noqa: F811
    """The sandboxes, with connector.yaml naming the sandbox's three Active programs."""
    settings = tmp_path / "connector.yaml"
    write_settings(settings, PROGRAMS)
    monkeypatch.setenv("BC_PIPELINE_SETTINGS", str(settings))
    return sandboxes


def dotmailer_client():
    env = os.environ
    return DotmailerResource(api_user=env["DOTMAILER_API_USER"], api_password=env["DOTMAILER_API_PASSWORD"]).client()


def bigcommerce_client():
    env = os.environ
    return BigCommerceResource(store_hash=env["BC_STORE_HASH"], access_token=env["BC_ACCESS_TOKEN"]).client()


def enrol_now(role: str, now):
    """One enrolment run for `role`, as the job's step makes it, at the sandbox time `now`."""
    with WarehouseResource().connect() as conn, dotmailer_client() as client:
        return enrol_new_contacts(conn, client, load_settings(), role, now)


def ledger_rows(sql: str) -> list[tuple]:
    with WarehouseResource().connect() as conn:
        return conn.execute(sql).fetchall()


def add_to_store(pair, kind: str, records: list[dict]) -> None:
    """Add records created just now, old enough by real time for the next sync's extract to include them."""
    # The extract leaves rows modified within SAFETY_LAG of (real) now for the next sync: date them just
    # inside it, after the previous sync's watermark, and let the rest of the lag pass.
    stamp = (pair.bigcommerce.clock.now() - SAFETY_LAG + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pair.bigcommerce.load({kind: [{"date_created": stamp, "date_modified": stamp, **record} for record in records]})
    time.sleep(2)


def new_customers(count: int, prefix: str = "new") -> list[dict]:
    return [{"email": f"{prefix}{n}@enrol.example", "first_name": f"New{n}", "last_name": "Customer"}
            for n in range(count)]


def program_id(pair, name: str) -> int:
    return next(p["id"] for p in pair.dotmailer.state()["programs"] if p["name"] == name)


def enrolled_contacts(pair, name: str) -> list[int]:
    """Every contact id dotmailer enrolled into program `name`, once per enrolment that named it."""
    wanted = program_id(pair, name)
    return [c for e in pair.dotmailer.state()["enrolments"] if e["programId"] == wanted for c in e["contacts"]]


def contact_ids_by_email(pair) -> dict[str, int]:
    return {c["email"].strip().lower(): c["id"] for c in pair.dotmailer.state()["contacts"]}
