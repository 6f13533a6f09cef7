"""Production configuration, proven: deploy/dagster.postgres.yaml on a real PostgreSQL server, with the sync job
taken from the run queue by `dagster-daemon run` and run to success.

PostgreSQL is Debian's `postgresql` package (installed by `make setup`): a throwaway cluster of our own, on a free
loopback port, so that nothing depends on a system service being up.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg2
import pytest
from dagster import DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster_postgres import PostgresRunStorage

from bc_pipeline.automation import SYNC_JOB, current_partition_key
from bc_pipeline_tests.ports import free_port
from bc_pipeline_tests.ui.conftest import (
    REPO_ROOT,
    VENV_BIN,
    start_process_group,
    stop_process_group,
    wait_until,
)

pytestmark = pytest.mark.slow

PRODUCTION_INSTANCE = REPO_ROOT / "deploy" / "dagster.postgres.yaml"
PG_USER, PG_PASSWORD, PG_DB = "dagster", "dagster-test-password", "dagster"
RUN_DONE = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


@dataclass
class PostgresServer:
    port: int

    def connect(self, dbname: str = PG_DB):
        return psycopg2.connect(host="127.0.0.1", port=self.port, user=PG_USER, password=PG_PASSWORD, dbname=dbname)

    def accepts_connections(self) -> bool:
        try:
            self.connect(dbname="postgres").close()
            return True
        except psycopg2.OperationalError:
            return False

    def env(self) -> dict[str, str]:
        """The variables deploy/dagster.postgres.yaml reads."""
        return {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(self.port), "DAGSTER_PG_USER": PG_USER,
                "DAGSTER_PG_PASSWORD": PG_PASSWORD, "DAGSTER_PG_DB": PG_DB}


def postgres_bin() -> Path:
    installed = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda path: int(path.parts[-3]))
    if not installed:
        pytest.fail("PostgreSQL server binaries not found under /usr/lib/postgresql: `make setup` installs them")
    return installed[-1].parent


def as_cluster_owner(command: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; as root (CI) it runs as the `postgres` user the Debian package creates.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@pytest.fixture
def postgres_server():
    # Not under pytest's tmp_path: its parent is closed to every user but root, and the server runs as `postgres`.
    cluster = Path(tempfile.mkdtemp(prefix="bc_pipeline_pg_"))
    try:
        password_file = cluster / "password"
        password_file.write_text(PG_PASSWORD, encoding="utf-8")
        if os.geteuid() == 0:
            shutil.chown(cluster, "postgres")
            shutil.chown(password_file, "postgres")
        bin_dir = postgres_bin()
        subprocess.run(as_cluster_owner([
            str(bin_dir / "initdb"), "-D", str(cluster / "data"), "-U", PG_USER, f"--pwfile={password_file}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--encoding=UTF8", "--no-sync",
        ]), check=True, capture_output=True, timeout=120)
        server = PostgresServer(port=free_port())
        log = cluster / "postgres.log"
        process = start_process_group(as_cluster_owner([
            str(bin_dir / "postgres"), "-D", str(cluster / "data"), "-p", str(server.port),
            "-c", "listen_addresses=127.0.0.1", "-k", str(cluster), "-c", "fsync=off",
        ]), env=dict(os.environ), log=log)
        try:
            wait_until(server.accepts_connections, timeout=60, what="PostgreSQL", process=process, log=log)
            admin = server.connect(dbname="postgres")
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE {PG_DB}")
            admin.close()
            yield server
        finally:
            # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to disconnect.
            stop_process_group(process, sig=signal.SIGINT)
    finally:
        shutil.rmtree(cluster, ignore_errors=True)


@pytest.fixture
def production_instance_env(postgres_server, sandboxes, tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of a production deployment: DAGSTER_HOME holding deploy/dagster.postgres.yaml."""
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(PRODUCTION_INSTANCE, dagster_home / "dagster.yaml")
    settings = tmp_path / "connector.yaml"
    # The schedule stays off, so the only run is the one this test queues.
    settings.write_text("history_start_date: 2020-01-01\ndata_sync: false\n", encoding="utf-8")
    monkeypatch.setenv("BC_PIPELINE_SETTINGS", str(settings))
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    for key, value in postgres_server.env().items():
        monkeypatch.setenv(key, value)
    return dict(os.environ)


def queue_sync_run(env: dict[str, str]) -> str:
    """`dagster job launch`: submits the run to the instance's run queue, as the UI and the schedule do."""
    run_id = str(uuid.uuid4())
    launched = subprocess.run(
        [str(VENV_BIN / "dagster"), "job", "launch", "-w", "workspace.yaml", "-j", SYNC_JOB, "--run-id", run_id,
         "--tags", json.dumps({"dagster/partition": current_partition_key()})],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert launched.returncode == 0, launched.stderr
    return run_id


def test_sync_job_runs_from_the_queue_on_the_postgres_instance(production_instance_env, postgres_server, tmp_path):
    log = tmp_path / "dagster-daemon.log"
    # Queued before the daemon starts: on a fresh database both processes would create the instance's tables at
    # once, and Postgres refuses the second CREATE TABLE (type "asset_keys" already exists).
    run_id = queue_sync_run(production_instance_env)
    daemon = start_process_group([str(VENV_BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                 env=production_instance_env, log=log)
    try:
        with DagsterInstance.get() as instance:
            assert isinstance(instance.run_storage, PostgresRunStorage)
            finished = wait_until(lambda: _finished_run(instance, run_id), timeout=300, what=f"sync run {run_id}",
                                  process=daemon, log=log, interval=1)
            assert finished.status == DagsterRunStatus.SUCCESS, log.read_text(errors="replace")[-4000:]
            # Queued first, then started by the daemon: the path every schedule, sensor and UI launch takes.
            assert len(instance.all_logs(run_id, of_type=DagsterEventType.RUN_ENQUEUED)) == 1
            # Its steps ran in the run's own process, one after another: no process of their own to start.
            [run_start] = instance.all_logs(run_id, of_type=DagsterEventType.RUN_START)
            steps = instance.all_logs(run_id, of_type=DagsterEventType.STEP_START)
            step_pids = {entry.dagster_event.pid for entry in steps}
            assert step_pids == {run_start.dagster_event.pid}
    finally:
        stop_process_group(daemon)

    with postgres_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT pipeline_name, status FROM runs WHERE run_id = %s", (run_id,))
        assert cursor.fetchall() == [(SYNC_JOB, "SUCCESS")]
    connection.close()


def _finished_run(instance: DagsterInstance, run_id: str):
    run = instance.get_run_by_id(run_id)
    return run if run is not None and run.status in RUN_DONE else None

