"""The real thing, as its users see it: the sandbox and `dagster dev` as processes, driven from headless Chromium.

The process helpers here are shared with the production-instance test.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bc_pipeline.env_file import read_env_file
from bc_pipeline_tests.ports import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SCREENSHOTS = REPO_ROOT / "test-artifacts" / "ui"
SMALL_STORE = ["--customers", "30", "--orders", "60", "--products", "10", "--subscribers", "20"]

# Debian's Chromium as root in CI, on a machine without internet: no sandbox, and no background
# connections to Google's services (each would be refused, many at a time).
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Assertions wait as long as actions do. Playwright's 5 s default for assertions was too short in CI: on a loaded
# 2-core machine the browser took longer than that to lay out the asset graph.
UI_TIMEOUT_MS = 30_000
expect.set_options(timeout=UI_TIMEOUT_MS)


def ui_connector_yaml() -> str:
    """Two weeks of daily partitions; no automation of its own, so that every run in the test is one it started."""
    history_start = datetime.now(UTC).date() - timedelta(days=14)
    return (f"history_start_date: {history_start.isoformat()}\n"
            "data_sync: false\n"
            "programs:\n  new_customers: none\n  new_subscribers: none\n  abandoned_baskets: none\n")


def start_process_group(command: list[str], env: dict[str, str], log: Path, cwd: Path = REPO_ROOT) -> subprocess.Popen:
    """Start a server in its own process group, so that stopping it stops every process it started."""
    # Started from a non-interactive shell's background job, pytest inherits SIGINT ignored and so would the
    # server; dagster then ignores SIGTERM too (it maps SIGTERM to its SIGINT handler). exec() resets a
    # handled signal to its default, so handle SIGINT here rather than pass on "ignored".
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, process_group=0)


def stop_process_group(process: subprocess.Popen, sig: int = signal.SIGTERM, grace_seconds: float = 30) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    # The leader may be gone while a child it started lingers in the group.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_until(condition: Callable[[], object], timeout: float, what: str, process: subprocess.Popen | None = None,
               log: Path | None = None, interval: float = 0.5):
    """Poll until `condition()` returns something truthy; fail with the server's log if it died or timed out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"{what}: the process exited with {process.returncode}\n{_tail(log)}")
        result = condition()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{_tail(log)}")


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


LOCATION, REPOSITORY = "bc_pipeline", "__repository__"
RUN_DONE = {"SUCCESS", "FAILURE", "CANCELED"}
LAUNCH_RUN = """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }"""
RUN_STATUS = """query($runId: ID!) { runOrError(runId: $runId) { ... on Run { status } } }"""
JOB_RUNS = """query($job: String!) { runsOrError(filter: {pipelineName: $job}) {
    ... on Runs { results { runId status } } } }"""


@dataclass
class DagsterWebserver:
    url: str

    def graphql(self, query: str, **variables) -> dict:
        response = requests.post(f"{self.url}/graphql", json={"query": query, "variables": variables}, timeout=30)
        response.raise_for_status()
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/server_info", timeout=2).ok
        except requests.ConnectionError:
            return False

    def launch_job(self, job: str, partition_key: str) -> str:
        """A run launched as the UI launches one: queued for the daemon, run by the code server. Its run id."""
        launched = self.graphql(LAUNCH_RUN, params={
            "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition_key}]},
        })["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def finished_status(self, run_id: str) -> str | None:
        """The run's final status, or None while it has not finished."""
        status = self.graphql(RUN_STATUS, runId=run_id)["runOrError"]["status"]
        return status if status in RUN_DONE else None

    def job_runs(self, job: str) -> list[dict]:
        return self.graphql(JOB_RUNS, job=job)["runsOrError"]["results"]

    def asset_nodes(self) -> list[dict]:
        return self.graphql("{ assetNodes { assetKey { path } groupName dependencyKeys { path } } }")["assetNodes"]


def start_sandbox(workdir: Path) -> Iterator[dict[str, str]]:
    """`bc-pipeline sandbox serve` with a small store; yields the environment it writes, once written."""
    env_file, log = workdir / "sandbox.env", workdir / "sandbox.log"
    process = start_process_group(
        [str(VENV_BIN / "bc-pipeline"), "sandbox", "serve", "--env-file", str(env_file), *SMALL_STORE],
        env=dict(os.environ), log=log)
    try:
        wait_until(env_file.exists, timeout=60, what="the sandbox env file", process=process, log=log)
        yield read_env_file(env_file)
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def ui_workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dagster_ui")


@pytest.fixture(scope="module")
def ui_sandbox_env(ui_workdir) -> Iterator[dict[str, str]]:
    yield from start_sandbox(ui_workdir)


def run_dagster_dev(workdir: Path, sandbox_env: dict[str, str], connector_yaml: str) -> Iterator[DagsterWebserver]:
    """`dagster dev` (webserver and daemon) on a free loopback port, with its own DAGSTER_HOME and warehouse."""
    dagster_home = workdir / "dagster_home"
    dagster_home.mkdir()
    # With DAGSTER_HOME set, dagster reads the instance settings from there, not from the working directory.
    shutil.copy(REPO_ROOT / "dagster.yaml", dagster_home / "dagster.yaml")
    settings = workdir / "connector.yaml"
    settings.write_text(connector_yaml, encoding="utf-8")
    env = {**os.environ, **sandbox_env, "DAGSTER_HOME": str(dagster_home),
           "BC_PIPELINE_HOME": str(workdir / "home"), "BC_PIPELINE_SETTINGS": str(settings)}
    port, log = free_port(), workdir / "dagster-dev.log"
    process = start_process_group(
        [str(VENV_BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        env=env, log=log)
    try:
        webserver = DagsterWebserver(f"http://127.0.0.1:{port}")
        wait_until(webserver.answers, timeout=120, what="the dagster webserver", process=process, log=log)
        wait_until(webserver.asset_nodes, timeout=60, what="the code location's assets", process=process, log=log)
        yield webserver
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def dagster_ui(ui_workdir, ui_sandbox_env) -> Iterator[DagsterWebserver]:
    yield from run_dagster_dev(ui_workdir, ui_sandbox_env, ui_connector_yaml())


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


# The Dagster UI greets a new browser with a newsletter sign-up dialog over the page; mark it as seen.
FIRST_VISIT_DIALOG_SEEN = {"communityNux": "1"}


def open_page(browser: Browser, base_url: str, local_storage: dict | None = None, **context_options) -> Page:
    """A page in a fresh browser context whose localStorage holds the UI preferences given (JSON-encoded)."""
    context = browser.new_context(base_url=base_url, **{"viewport": {"width": 1440, "height": 900}, **context_options})
    stored = {key: json.dumps(value) for key, value in {**FIRST_VISIT_DIALOG_SEEN, **(local_storage or {})}.items()}
    context.add_init_script(
        f"for (const [key, value] of Object.entries({json.dumps(stored)})) localStorage.setItem(key, value);")
    context.set_default_timeout(UI_TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def page(browser, dagster_ui):
    page = open_page(browser, dagster_ui.url)
    yield page
    page.context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
