"""A sync cancelled from the UI while it reads the store, as a data engineer would stop one: the run ends
CANCELED, the next sync through the instance runs to success, and the store, DuckDB and dotmailer agree with
nothing lost and nothing twice. Steps run in the run's own process, so the cancel reaches the extraction itself."""

import pytest

from bc_pipeline_tests.reliability.harness import check_in_step, settle
from bc_pipeline_tests.reliability.instance import (
    RUN_WAIT_S,
    crash_recovery_instance_settings,
    dagster_instance,
    start_slow_pipeline,
)
from bc_pipeline_tests.ui.conftest import wait_until

pytestmark = pytest.mark.slow

TERMINATE = """mutation($runId: String!) { terminateRun(runId: $runId) { __typename } }"""


def test_a_sync_cancelled_mid_extraction_ends_canceled_and_the_next_one_converges(start_pipeline, tmp_path):
    pipeline = start_slow_pipeline(start_pipeline)

    with dagster_instance(tmp_path, pipeline.env(), crash_recovery_instance_settings()) as instance:
        webserver = instance.start()
        dotmailer_before = pipeline.dotmailer.stats()["total_requests"]
        cancelled = instance.launch_sync()
        wait_until(lambda: pipeline.bigcommerce.stats()["total_requests"] >= 3, timeout=RUN_WAIT_S,
                   what="the sync's first answers from the store", process=instance.process, log=instance.log)
        answered = webserver.graphql(TERMINATE, runId=cancelled)["terminateRun"]["__typename"]
        assert answered == "TerminateRunSuccess"
        assert instance.wait_for_run_end(cancelled, timeout=120) == "CANCELED"
        assert pipeline.dotmailer.stats()["total_requests"] == dotmailer_before, "the cancel should stop the extraction"

        pipeline.bigcommerce.activity(20)
        settle(pipeline.pair)
        assert instance.wait_for_run_end(instance.launch_sync(), timeout=RUN_WAIT_S) == "SUCCESS"

    problems = check_in_step(pipeline.pair, suppressed=set())
    assert problems.all() == [], "\n".join(problems.all()[:40])
