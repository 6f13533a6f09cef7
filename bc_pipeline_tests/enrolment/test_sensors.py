"""The sensors launch enrolment after book loads; restarts and cursor resets neither lose nor repeat one.

Sensors read only the Dagster event log (and the webhook inbox); the job's step does the enrolling.
"""

from datetime import timedelta

import dagster as dg

from bc_pipeline.enrolment import clock
from bc_pipeline.enrolment.sensors import new_customers_enrolment, new_subscribers_enrolment
from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.enrolment.conftest import (
    PROGRAMS,
    add_to_store,
    contact_ids_by_email,
    enrolled_contacts,
    fast_defs,
    new_customers,
    write_settings,
)

DEFS = fast_defs()


def _tick(sensor, instance, cursor):
    with dg.build_sensor_context(instance=instance, cursor=cursor) as context:
        return sensor.evaluate_tick(context)


def _launch(instance, tick) -> list[str]:
    """Run the requests of a tick in process, dropping run keys already used, as the daemon does."""
    launched = []
    for request in tick.run_requests:
        if instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": request.run_key})):
            continue
        job = DEFS.resolve_job_def("enrol_programs")
        result = job.execute_in_process(run_config=request.run_config, instance=instance,
                                        tags={**request.tags, "dagster/run_key": request.run_key})
        assert result.success
        launched.append(request.run_key)
    return launched


def test_sensor_enrols_new_customers_once_across_restarts_and_cursor_resets(store, monkeypatch):
    # The pipeline's clock a little behind the store's, so customers added right after the switch-on are newer.
    monkeypatch.setattr(clock, "utc_now", lambda: store.dotmailer.clock.now() - timedelta(seconds=10))
    with dg.instance_for_test() as instance:
        assert run_sync(DEFS, instance=instance).success
        first = _tick(new_customers_enrolment, instance, None)
        assert [r.run_config["ops"]["enrol_program"]["config"]["role"] for r in first.run_requests] == ["new_customers"]
        assert _launch(instance, first)  # switches automation on: the existing base is not enrolled
        assert enrolled_contacts(store, PROGRAMS["new_customers"]) == []

        idle = _tick(new_customers_enrolment, instance, first.cursor)
        assert not idle.run_requests and "no new materialization" in idle.skip_message

        add_to_store(store, "customers", new_customers(2, prefix="sensed"))
        assert run_sync(DEFS, instance=instance).success
        # A restarted daemon resumes from the stored cursor.
        second = _tick(new_customers_enrolment, instance, first.cursor)
        assert len(second.run_requests) == 1 and second.run_requests[0].run_key != first.run_requests[0].run_key
        _launch(instance, second)
        ids = contact_ids_by_email(store)
        expected = sorted(ids[f"sensed{n}@enrol.example"] for n in range(2))
        assert sorted(enrolled_contacts(store, PROGRAMS["new_customers"])) == expected

        # A reset cursor points at the newest load again: its run key was used, so nothing runs twice ...
        reset = _tick(new_customers_enrolment, instance, None)
        assert [r.run_key for r in reset.run_requests] == [second.run_requests[0].run_key]
        assert _launch(instance, reset) == []
        # ... and the next load gets a fresh key, whose run finds nobody new to enrol.
        assert run_sync(DEFS, instance=instance).success
        after_reset = _tick(new_customers_enrolment, instance, reset.cursor)
        assert len(_launch(instance, after_reset)) == 1
        # Even a run with the old cursor replayed enrols nobody twice: the ledger is keyed by program and contact.
        replay = _tick(new_customers_enrolment, instance, first.cursor)
        for request in replay.run_requests:
            DEFS.resolve_job_def("enrol_programs").execute_in_process(run_config=request.run_config, instance=instance)
        assert sorted(enrolled_contacts(store, PROGRAMS["new_customers"])) == expected


def test_a_sensor_whose_program_is_none_skips_saying_so(tmp_path, monkeypatch):
    settings = tmp_path / "off.yaml"
    write_settings(settings, {**PROGRAMS, "new_subscribers": None})
    monkeypatch.setenv("BC_PIPELINE_SETTINGS", str(settings))
    with dg.instance_for_test() as instance:
        instance.report_runless_asset_event(dg.AssetMaterialization(["dotmailer", "subscribers_book"]))
        tick = _tick(new_subscribers_enrolment, instance, None)
    assert not tick.run_requests
    assert "new_subscribers automation is off" in tick.skip_message


def test_sensors_start_running_when_their_program_is_set():
    assert {s.name: s.default_status for s in DEFS.sensors if s.name.endswith("_enrolment")} == {
        "new_customers_enrolment": dg.DefaultSensorStatus.RUNNING,
        "new_subscribers_enrolment": dg.DefaultSensorStatus.RUNNING,
        "abandoned_baskets_enrolment": dg.DefaultSensorStatus.RUNNING,
    }


def test_the_enrolment_step_runs_in_the_duckdb_pool():
    job = DEFS.resolve_job_def("enrol_programs")
    assert job.graph.node_dict["enrol_program"].definition.pool == "duckdb"
