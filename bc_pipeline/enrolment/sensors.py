"""The three enrolment sensors. Thin: the decisions are in `triggers`; the work is in the `enrol_programs` job.

A sensor whose program is none in connector.yaml skips, saying so; each starts RUNNING only when its program
is set, as the 5-minute schedule follows `data_sync`.
"""

import dagster as dg

from bc_pipeline.enrolment import clock
from bc_pipeline.enrolment.inbox import open_inbox
from bc_pipeline.enrolment.jobs import ENROL_OP, ROLE_TAG, EnrolProgramConfig, enrol_programs
from bc_pipeline.enrolment.roles import ABANDONED_BASKETS, NEW_CUSTOMERS, NEW_SUBSCRIBERS, program_name
from bc_pipeline.enrolment.triggers import Decision, abandoned_baskets_decision, new_contacts_decision
from bc_pipeline.settings import load_settings


def _default_status(role: str) -> dg.DefaultSensorStatus:
    switched_on = program_name(load_settings(), role) is not None
    return dg.DefaultSensorStatus.RUNNING if switched_on else dg.DefaultSensorStatus.STOPPED


def _switched_off(role: str) -> dg.SkipReason | None:
    if program_name(load_settings(), role) is None:
        return dg.SkipReason(f"{role} automation is off: no program is set for it in connector.yaml")
    return None


def _result(role: str, decision: Decision) -> dg.SensorResult:
    if decision.run_key is None:
        return dg.SensorResult(skip_reason=decision.skip_reason, cursor=decision.cursor)
    return dg.SensorResult(
        cursor=decision.cursor,
        run_requests=[dg.RunRequest(
            run_key=decision.run_key,
            run_config=dg.RunConfig(ops={ENROL_OP: EnrolProgramConfig(role=role)}),
            tags={ROLE_TAG: role},
        )],
    )


def _new_contacts_sensor(role: str, description: str) -> dg.SensorDefinition:
    @dg.sensor(name=f"{role}_enrolment", job=enrol_programs, minimum_interval_seconds=30,
               default_status=_default_status(role), description=description)
    def _sensor(context: dg.SensorEvaluationContext):
        return _switched_off(role) or _result(role, new_contacts_decision(context.instance, role, context.cursor))

    return _sensor


new_customers_enrolment = _new_contacts_sensor(
    NEW_CUSTOMERS, "Enrols customers created since automation was switched on, after each customers book load.")
new_subscribers_enrolment = _new_contacts_sensor(
    NEW_SUBSCRIBERS, "Enrols consenting subscribers created since automation was switched on, after each "
                     "subscribers book load.")


@dg.sensor(name=f"{ABANDONED_BASKETS}_enrolment", job=enrol_programs, minimum_interval_seconds=60,
           default_status=_default_status(ABANDONED_BASKETS),
           description="Enrols carts abandoned for an hour (webhook inbox) and incomplete orders (after each sync).")
def abandoned_baskets_enrolment(context: dg.SensorEvaluationContext):
    off = _switched_off(ABANDONED_BASKETS)
    if off:
        return off
    decision = abandoned_baskets_decision(context.instance, open_inbox(), context.cursor, clock.utc_now())
    return _result(ABANDONED_BASKETS, decision)


ENROLMENT_SENSORS = [new_customers_enrolment, new_subscribers_enrolment, abandoned_baskets_enrolment]
