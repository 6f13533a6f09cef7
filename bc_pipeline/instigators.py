"""The connector's schedule and sensors in the Dagster instance: their state, stopping and restarting them.

The state the daemon obeys lives in the instance (keyed by code location, repository and name), so the code
location is loaded in-process under the name `dagster dev` and the daemon give it, and the instance's own
`stop_schedule` / `stop_sensor` / `start_*` record the change exactly as the UI's toggle would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.external import RemoteRepository
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._utils.schedules import cron_string_iterator

from bc_pipeline.automation import SYNC_SCHEDULE

DEFINITIONS_MODULE = "bc_pipeline.definitions"
DEFAULT_LOCATION_NAME = "bc_pipeline"


class InstanceUnavailable(RuntimeError):
    """The Dagster instance or the code location could not be loaded; the message says why."""


@dataclass
class Instigators:
    """Names of the connector's schedules and sensors: those stopped, started or running."""

    schedules: list[str] = field(default_factory=list)
    sensors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScheduleState:
    name: str
    running: bool
    next_tick: datetime | None


def location_name(workspace_file: Path = Path("workspace.yaml")) -> str:
    """The code location name the workspace gives `bc_pipeline.definitions` (the instance keys state by it)."""
    try:
        workspace = yaml.safe_load(workspace_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return DEFAULT_LOCATION_NAME
    for entry in workspace.get("load_from") or []:
        module = (entry or {}).get("python_module") if isinstance(entry, dict) else None
        if isinstance(module, dict) and module.get("module_name") == DEFINITIONS_MODULE:
            return str(module.get("location_name") or DEFAULT_LOCATION_NAME)
    return DEFAULT_LOCATION_NAME


def instance_configured() -> bool:
    return bool(os.environ.get("DAGSTER_HOME"))


@contextmanager
def connector_repository(instance: dg.DagsterInstance) -> Iterator[RemoteRepository]:
    name = location_name()
    origin = InProcessCodeLocationOrigin(
        loadable_target_origin=LoadableTargetOrigin(
            executable_path=sys.executable, module_name=DEFINITIONS_MODULE, working_directory=os.getcwd()
        ),
        location_name=name,
    )
    with WorkspaceProcessContext(instance, InProcessWorkspaceLoadTarget(origin)) as process_context:
        workspace = process_context.create_request_context()
        if workspace.has_code_location_error(name):
            error = workspace.get_code_location_error(name)
            raise InstanceUnavailable(f"the code location {name} did not load: {error}")
        yield next(iter(workspace.get_code_location(name).get_repositories().values()))


def _is_running(instance: dg.DagsterInstance, instigator) -> bool:
    stored = instance.get_instigator_state(instigator.get_remote_origin_id(), instigator.selector_id)
    return instigator.get_current_instigator_state(stored).is_running


def stop_all(instance: dg.DagsterInstance) -> Instigators:
    """Stop every running schedule and sensor of the connector; returns the names it stopped."""
    with connector_repository(instance) as repository:
        schedules = [schedule.name for schedule in repository.get_schedules()]
        sensors = [sensor.name for sensor in repository.get_sensors()]
    return stop(instance, schedules, sensors)


def start(instance: dg.DagsterInstance, schedules: list[str], sensors: list[str]) -> Instigators:
    """Start the named schedules and sensors again (those a disconnect stopped); returns those it started."""
    started = Instigators()
    with connector_repository(instance) as repository:
        for schedule in repository.get_schedules():
            if schedule.name in schedules and not _is_running(instance, schedule):
                instance.start_schedule(schedule)
                started.schedules.append(schedule.name)
        for sensor in repository.get_sensors():
            if sensor.name in sensors and not _is_running(instance, sensor):
                instance.start_sensor(sensor)
                started.sensors.append(sensor.name)
    return started


def stop(instance: dg.DagsterInstance, schedules: list[str], sensors: list[str]) -> Instigators:
    """Stop the named schedules and sensors; returns those it stopped."""
    stopped = Instigators()
    with connector_repository(instance) as repository:
        for schedule in repository.get_schedules():
            if schedule.name in schedules and _is_running(instance, schedule):
                instance.stop_schedule(schedule.get_remote_origin_id(), schedule.selector_id, schedule)
                stopped.schedules.append(schedule.name)
        for sensor in repository.get_sensors():
            if sensor.name in sensors and _is_running(instance, sensor):
                instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)
                stopped.sensors.append(sensor.name)
    return stopped


def running_instigators(instance: dg.DagsterInstance) -> Instigators:
    """The connector's schedules and sensors that are running now."""
    running = Instigators()
    with connector_repository(instance) as repository:
        running.schedules = [s.name for s in repository.get_schedules() if _is_running(instance, s)]
        running.sensors = [s.name for s in repository.get_sensors() if _is_running(instance, s)]
    return running


def sync_schedule_state(instance: dg.DagsterInstance, now: datetime | None = None) -> ScheduleState | None:
    """Whether the 5-minute sync schedule is running, and its next tick if it is; None if it is not defined."""
    with connector_repository(instance) as repository:
        if not repository.has_schedule(SYNC_SCHEDULE):
            return None
        schedule = repository.get_schedule(SYNC_SCHEDULE)
        running = _is_running(instance, schedule)
    next_tick = None
    if running:
        start_ts = (now or datetime.now(timezone.utc)).timestamp()
        ticks = cron_string_iterator(start_ts, schedule.cron_schedule, schedule.execution_timezone or "UTC")
        next_tick = next(ticks).astimezone(timezone.utc)
    return ScheduleState(SYNC_SCHEDULE, running, next_tick)
