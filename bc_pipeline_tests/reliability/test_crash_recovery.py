"""Real run processes killed with SIGKILL at chosen points: `bc-pipeline sync` mid-extract, mid-DuckDB-write and with
a dotmailer import accepted but unread; an enrolment run mid-call. The next runs converge, an accepted import is
resumed rather than sent again, and nobody is enrolled twice."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from bc_pipeline.paths import pipeline_home
from bc_pipeline.sandbox.server import serve_in_thread
from bc_pipeline.sync_runner import run_sync
from bc_pipeline_tests.reliability.harness import (
    SETTINGS_WITH_PROGRAMS,
    check_in_step,
    enrol_new_contacts_now,
    fast_defs,
    settle,
    sync_until_quiet,
)

BC_PIPELINE = Path(sys.executable).with_name("bc-pipeline")
CONTACT_IMPORT = "PUT /contacts/v3/import"
CONTACT_IMPORT_STATUS = "GET /contacts/v3/import/{importId}"
KILL_WAIT_S = 120.0


def _bigcommerce_requests_reach(count: int) -> Callable:
    return lambda pipeline: pipeline.bigcommerce.stats()["total_requests"] >= count


def _contact_import_polled(pipeline) -> bool:
    # The first status poll comes after the accepted import is in the ledger; with import_steps it answers
    # "NotFinished", so the kill lands with the import accepted and its outcome unread.
    return pipeline.dotmailer.stats()["requests"].get(CONTACT_IMPORT_STATUS, 0) >= 1


def _run_process(tmp_path: Path, command: list[str] | None = None, env: dict | None = None) -> subprocess.Popen:
    log = open(tmp_path / "killed-run.log", "wb")
    try:
        return subprocess.Popen(command or [str(BC_PIPELINE), "sync"], env=env or os.environ.copy(), cwd=tmp_path,
                                stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


def _kill_when(process: subprocess.Popen, moment: Callable[[], bool], tmp_path: Path) -> None:
    """SIGKILL `process` as soon as `moment()` holds; fail if the run ends (or stalls) before that."""
    deadline = time.monotonic() + KILL_WAIT_S
    while not moment():
        if process.poll() is not None:
            pytest.fail(f"the run finished before the kill point:\n{(tmp_path / 'killed-run.log').read_text()}")
        assert time.monotonic() < deadline, "the run never reached the kill point"
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def _count(sql: str) -> int:
    with duckdb.connect(str(pipeline_home() / "warehouse.duckdb"), read_only=True) as conn:
        return conn.execute(sql).fetchall()[0][0]


def _unfinished_imports() -> int:
    return _count("SELECT count(*) FROM dotmailer.contact_imports WHERE finished_at IS NULL")


def _streams_fully_extracted() -> int:
    return _count("SELECT count(*) FROM bigcommerce.sync_state WHERE watermark IS NOT NULL AND window_start IS NULL "
                  "AND stream IN ('customers', 'subscribers', 'orders', 'products')")


KILL_POINTS = {
    # Latency keeps a request in flight most of the time: the kill lands mid-page.
    "mid-extract page": (dict(latency_ms=40), _bigcommerce_requests_reach(6)),
    # Without latency the pages come back at once, so the process is mostly parsing and upserting them.
    "mid-DuckDB write": (dict(latency_ms=0), _bigcommerce_requests_reach(9)),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_sync_killed_mid_extract_is_completed_by_the_next_ones(start_pipeline, tmp_path, point):
    bigcommerce, moment = KILL_POINTS[point]
    pipeline = start_pipeline(bigcommerce=bigcommerce)
    pipeline.bigcommerce.activity(20)
    settle(pipeline.pair)
    process = _run_process(tmp_path)
    try:
        _kill_when(process, lambda: moment(pipeline), tmp_path)
    finally:
        process.kill()
    assert _streams_fully_extracted() < 4, "the kill should land before the extract finished"
    pipeline.bigcommerce.activity(20)

    sync_until_quiet(pipeline.pair, fast_defs())

    problems = check_in_step(pipeline.pair, suppressed=set())
    assert problems.all() == [], "\n".join(problems.all()[:40])


def test_an_import_accepted_before_a_kill_is_resumed_not_sent_again(start_pipeline, tmp_path):
    # Ten "not finished" answers keep the accepted import open long enough to be killed in that state.
    pipeline = start_pipeline(dotmailer=dict(import_steps=10))
    settle(pipeline.pair)
    process = _run_process(tmp_path)
    try:
        _kill_when(process, lambda: _contact_import_polled(pipeline), tmp_path)
    finally:
        process.kill()
    sent_before_kill = pipeline.dotmailer.stats()["requests"][CONTACT_IMPORT]
    assert _unfinished_imports() == sent_before_kill, "the kill should leave the accepted import open in the ledger"

    rerun = run_sync(fast_defs())

    assert rerun.success, rerun.failure
    assert sum(meta.get("resumed_imports", 0) for meta in rerun.loads.values()) == sent_before_kill
    sync_until_quiet(pipeline.pair, fast_defs())
    # The store did not change, so one import per book is all it ever takes.
    assert pipeline.dotmailer.stats()["requests"][CONTACT_IMPORT] == 2
    assert _unfinished_imports() == 0
    problems = check_in_step(pipeline.pair, suppressed=set())
    assert problems.all() == [], "\n".join(problems.all()[:40])


# The enrolment run as a sensor launches it: the `enrol_programs` job in a process of its own.
ENROL_RUN = """
from bc_pipeline.definitions import defs
from bc_pipeline.enrolment.jobs import ENROL_JOB, ENROL_OP
result = defs.resolve_job_def(ENROL_JOB).execute_in_process(
    run_config={"ops": {ENROL_OP: {"config": {"role": "new_customers"}}}}, raise_on_error=False)
"""
ENROLMENT_CALL = "/v2/programs/enrolments"
ANSWER_DELAY_S = 3.0


class SlowEnrolmentAnswers:
    """dotmailer, answering enrolment calls only after a pause: the call has taken effect, its answer is on the way.
    A slow network looks exactly like this, and it gives the kill a window to land in."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != ENROLMENT_CALL:
            return await self.app(scope, receive, send)

        async def answer_late(message):
            if message["type"] == "http.response.start":
                await asyncio.sleep(ANSWER_DELAY_S)
            await send(message)

        return await self.app(scope, receive, answer_late)


def _enrolments_made(pipeline) -> int:
    return len(pipeline.dotmailer.state()["enrolments"])


def test_a_run_killed_mid_enrolment_enrols_nobody_twice(start_pipeline, tmp_path):
    pipeline = start_pipeline(bigcommerce=dict(customers=30, subscribers=30, orders=40, products=10))
    pipeline.settings.write_text(SETTINGS_WITH_PROGRAMS, encoding="utf-8")
    enrol_new_contacts_now(pipeline.pair, fast_defs())  # automation on, before these customers arrive
    settle(pipeline.pair)
    pipeline.bigcommerce.load({"customers": [
        {"email": f"new{n}@enrol.example", "first_name": f"New{n}", "last_name": "Customer"} for n in range(5)]})
    sync_until_quiet(pipeline.pair, fast_defs())
    slow_dotmailer = serve_in_thread(SlowEnrolmentAnswers(pipeline.dotmailer.app))
    process = _run_process(tmp_path, [sys.executable, "-c", ENROL_RUN],
                            {**os.environ, "DOTMAILER_API_BASE_URL": slow_dotmailer.url})
    try:
        _kill_when(process, lambda: _enrolments_made(pipeline) == 1, tmp_path)
    finally:
        process.kill()
        slow_dotmailer.stop()

    enrol_new_contacts_now(pipeline.pair, fast_defs())

    problems = check_in_step(pipeline.pair, suppressed=set())
    assert problems.duplicated == [], "\n".join(problems.duplicated)
