"""The `enrol_programs` job: one step, in pool `duckdb`, enrolling the contacts due for one automation.

Sensors launch it with the automation's role in the run config; the work itself is `enrol_new_contacts` or
`enrol_abandoned_baskets`, which tests call directly.
"""

import dagster as dg
from pydantic import Field

from bc_pipeline.enrolment import clock
from bc_pipeline.enrolment.carts import enrol_abandoned_baskets
from bc_pipeline.enrolment.enrol import EnrolmentResult, enrol_new_contacts
from bc_pipeline.enrolment.inbox import open_inbox
from bc_pipeline.enrolment.roles import ABANDONED_BASKETS, ROLES
from bc_pipeline.resources import (
    BigCommerceResource,
    ConnectorSettingsResource,
    DotmailerResource,
    WarehouseResource,
)

ENROL_JOB = "enrol_programs"
ENROL_OP = "enrol_program"
ROLE_TAG = "bc_pipeline/enrolment_role"


class EnrolProgramConfig(dg.Config):
    role: str = Field(description=f"Which automation to run: {', '.join(ROLES)}.")


@dg.op(name=ENROL_OP, pool="duckdb", description="Enrol the contacts due for one automation into its program.")
def enrol_program(
    context: dg.OpExecutionContext,
    config: EnrolProgramConfig,
    warehouse: WarehouseResource,
    dotmailer: DotmailerResource,
    bigcommerce: BigCommerceResource,
    connector: ConnectorSettingsResource,
) -> dg.Output[dict]:
    if config.role not in ROLES:
        raise dg.Failure(f"unknown enrolment role '{config.role}'; expected one of {', '.join(ROLES)}",
                         allow_retries=False)
    settings = connector.load()
    now = clock.utc_now()
    with warehouse.connect() as conn, dotmailer.client() as client:
        if config.role == ABANDONED_BASKETS:
            result = enrol_abandoned_baskets(conn, client, bigcommerce.client(), open_inbox(), settings, now,
                                             poll_interval=dotmailer.import_poll_seconds)
        else:
            result = enrol_new_contacts(conn, client, settings, config.role, now)
    _log(context, result)
    metadata = result.metadata()
    return dg.Output(metadata, metadata=metadata)


def _log(context: dg.OpExecutionContext, result: EnrolmentResult) -> None:
    if result.skipped:
        context.log.info(result.skipped)
        return
    if result.problem:
        context.log.warning(result.problem)
    context.log.info(
        f"{result.role} -> '{result.program_name}': enrolled {result.enrolled} in {result.calls} calls; "
        f"{result.waiting} waiting for a later run, {result.awaiting_contact_id} waiting for a dotmailer contact "
        f"id, {result.failed} failed"
    )


@dg.job(name=ENROL_JOB,
        description="Enrol new customers, new subscribers or abandoned baskets into their dotmailer program.")
def enrol_programs():
    enrol_program()
