"""The daemon's real sensors enrol a customer created in the store, as they do under `make ui`.

The 5-minute cron itself is covered in test_definitions; here a sync is launched through the webserver, as
"Materialize all" or a schedule tick would, and the running daemon does the rest.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from bc_pipeline_tests.ui.conftest import DagsterWebserver, run_dagster_dev, start_sandbox, wait_until

pytestmark = pytest.mark.slow

SENSOR_INTERVAL_SECONDS = 30
RUN_START_ALLOWANCE_SECONDS = 180
NEW_CUSTOMER = {"email": "brand.new.customer@example.com", "first_name": "Brand", "last_name": "New"}


def _connector_yaml() -> str:
    history_start = datetime.now(UTC).date() - timedelta(days=3)
    return (f"history_start_date: {history_start.isoformat()}\n"
            "data_sync: false\n"
            "programs:\n  new_customers: New customers welcome\n  new_subscribers: none\n  abandoned_baskets: none\n")


@pytest.fixture(scope="module")
def automation(tmp_path_factory) -> Iterator[tuple[DagsterWebserver, dict[str, str]]]:
    workdir = tmp_path_factory.mktemp("daemon_enrolment")
    for sandbox_env in start_sandbox(workdir):
        for webserver in run_dagster_dev(workdir, sandbox_env, _connector_yaml()):
            yield webserver, sandbox_env


def _sync(webserver: DagsterWebserver) -> None:
    run_id = webserver.launch_job("sync", datetime.now(UTC).date().isoformat())
    assert wait_until(lambda: webserver.finished_status(run_id), timeout=180, what="the sync run to finish") == "SUCCESS"


def _enrolled_emails(dotmailer_url: str) -> set[str]:
    state = requests.get(f"{dotmailer_url}/_sandbox/state", timeout=10).json()
    emails = {c["id"]: c["email"].lower() for c in state["contacts"]}
    return {emails[contact_id] for enrolment in state["enrolments"] for contact_id in enrolment["contacts"]}


def test_the_daemon_enrols_a_new_customer_within_two_sensor_intervals(automation):
    webserver, sandbox_env = automation
    _sync(webserver)
    # The sensor's first reaction switches the automation on; the store's existing base is not enrolled.
    wait_until(lambda: any(r["status"] == "SUCCESS" for r in webserver.job_runs("enrol_programs")),
               timeout=2 * SENSOR_INTERVAL_SECONDS + RUN_START_ALLOWANCE_SECONDS, what="the first enrolment run")
    assert _enrolled_emails(sandbox_env["DOTMAILER_API_BASE_URL"]) == set()

    bigcommerce = sandbox_env["BC_API_BASE_URL"]
    requests.post(f"{bigcommerce}/_sandbox/load", json={"customers": [NEW_CUSTOMER]}, timeout=10).raise_for_status()
    # The extract's window ends a safety lag before the store's clock: let the store's time pass it.
    requests.post(f"{bigcommerce}/_sandbox/clock", json={"advance_seconds": 10}, timeout=10).raise_for_status()
    enrolment_runs_before = len(webserver.job_runs("enrol_programs"))
    _sync(webserver)

    # The sensor reacts within two of its intervals; the run it launches then needs its own process, which a
    # busy two-core machine may be slow to start.
    wait_until(lambda: len(webserver.job_runs("enrol_programs")) > enrolment_runs_before,
               timeout=2 * SENSOR_INTERVAL_SECONDS + 15, what="the sensor to launch an enrolment run")
    wait_until(lambda: NEW_CUSTOMER["email"] in _enrolled_emails(sandbox_env["DOTMAILER_API_BASE_URL"]),
               timeout=RUN_START_ALLOWANCE_SECONDS, what="the new customer's enrolment")
    assert _enrolled_emails(sandbox_env["DOTMAILER_API_BASE_URL"]) == {NEW_CUSTOMER["email"]}
