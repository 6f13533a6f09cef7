"""A whole Dagster instance as processes that can be killed and started again on the same DAGSTER_HOME.

`dagster dev` (webserver, daemon, code server and the run workers the code server spawns) runs in one process
group of its own, so that SIGKILL to the group takes the whole instance down at once, as a power cut or the OOM
killer would. The ui/ helpers start and stop processes; this module adds the restart and the kill.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bc_pipeline.automation import SYNC_JOB, current_partition_key
from bc_pipeline_tests.ports import free_port
from bc_pipeline_tests.reliability.harness import Pipeline, settle
from bc_pipeline_tests.ui.conftest import (
    REPO_ROOT,
    VENV_BIN,
    DagsterWebserver,
    start_process_group,
    stop_process_group,
    wait_until,
)

# The project's monitoring polls every 120 s by default; the test cannot wait that long for each check.
TEST_POLL_INTERVAL_S = 2
# connector.yaml with no automation of its own, so that every run on the instance is one the test launched.
NO_AUTOMATION_SETTINGS = ("history_start_date: 2020-01-01\ndata_sync: false\n"
                          "programs:\n  new_customers: none\n  new_subscribers: none\n  abandoned_baskets: none\n")
# Each BigCommerce answer takes this long, and every stream needs three rounds of requests or more: a sync is
# still reading the store seconds after it starts, where a test can stop it.
MID_SYNC_LATENCY_MS = 1000
MID_SYNC_STORE = dict(customers=600, subscribers=600, orders=1300, products=1300)
# Ceilings, not waits: a sync through the instance starts a run worker on a shared two-core machine.
RUN_WAIT_S = 240


def start_slow_pipeline(start_pipeline) -> Pipeline:
    """A pipeline on the slow store, with changes since its history began and no automation: a sync through the
    instance can be stopped mid-extraction."""
    pipeline = start_pipeline(bigcommerce=dict(latency_ms=MID_SYNC_LATENCY_MS, **MID_SYNC_STORE))
    pipeline.settings.write_text(NO_AUTOMATION_SETTINGS, encoding="utf-8")
    pipeline.bigcommerce.activity(20)
    settle(pipeline.pair)
    return pipeline


def crash_recovery_instance_settings() -> dict:
    """The project's dagster.yaml, with run monitoring polling often enough for a test."""
    settings = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text(encoding="utf-8"))
    settings["run_monitoring"]["poll_interval_seconds"] = TEST_POLL_INTERVAL_S
    return settings


RUN_LOG = """query($runId: ID!) { logsForRun(runId: $runId) {
    ... on EventConnection { events { ... on MessageEvent { message } } } } }"""
WORKER_STARTED = re.compile(r"Started process for run \(pid: (\d+)\)")


@dataclass
class DagsterInstanceProcesses:
    """`dagster dev` on one DAGSTER_HOME, started (and restarted) in a process group of its own."""

    workdir: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    webserver: DagsterWebserver | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> DagsterWebserver:
        self.starts += 1
        log = self.workdir / f"dagster-dev-{self.starts}.log"
        port = free_port()
        self.process = start_process_group(
            [str(VENV_BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            env=self.env, log=log)
        self.logs.append(log)
        self.webserver = DagsterWebserver(f"http://127.0.0.1:{port}")
        wait_until(self.webserver.answers, timeout=120, what="the dagster webserver", process=self.process, log=log)
        wait_until(self.webserver.asset_nodes, timeout=60, what="the code location's assets", process=self.process,
                   log=log)
        return self.webserver

    @property
    def log(self) -> Path:
        return self.logs[-1]

    def group_members(self) -> set[int]:
        """Every process of the instance's group still running: dagster dev, webserver, daemon, code server and run
        workers."""
        members = set()
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    # Fields after the parenthesised command name: state, ppid, pgrp.
                    state, _, group = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
                    threads = len(os.listdir(entry / "task"))
                except OSError:
                    continue
                # A killed process is a zombie once its main thread exits, but it keeps its files (and DuckDB's
                # lock) until its other threads have exited too.
                if int(group) == self.process.pid and (state != "Z" or threads > 1):
                    members.add(int(entry.name))
        return members

    def kill(self) -> None:
        """SIGKILL the whole group at once: nothing gets to write a last event or release a slot."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        wait_until(lambda: not self.group_members(), timeout=30, what="every process of the killed instance to go")

    def stop(self) -> None:
        if self.process is not None:
            stop_process_group(self.process)

    def launch_sync(self) -> str:
        """A sync through the instance, as "Materialize all" or a schedule tick launches it: the daemon dequeues it
        and the code server spawns its run worker."""
        return self.webserver.launch_job(SYNC_JOB, current_partition_key())

    def wait_for_run_end(self, run_id: str, timeout: float) -> str:
        return wait_until(lambda: self.webserver.finished_status(run_id), timeout=timeout, what=f"run {run_id} to finish", process=self.process,
                          log=self.log)

    def run_worker_pid(self, run_id: str) -> int | None:
        events = self.webserver.graphql(RUN_LOG, runId=run_id)["logsForRun"]["events"]
        pids = [int(m[1]) for event in events if (m := WORKER_STARTED.search(event.get("message") or ""))]
        return pids[0] if pids else None

    def sync_runs(self) -> list[dict]:
        return self.webserver.job_runs(SYNC_JOB)


@contextmanager
def dagster_instance(workdir: Path, pipeline_env: dict[str, str], settings: dict) -> Iterator[DagsterInstanceProcesses]:
    """An instance on a fresh DAGSTER_HOME under `workdir` with these instance settings; not yet started."""
    dagster_home = workdir / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    env = {**os.environ, **pipeline_env, "DAGSTER_HOME": str(dagster_home)}
    instance = DagsterInstanceProcesses(workdir, env)
    try:
        yield instance
    finally:
        instance.stop()
