"""Asynchronous imports: each answers "not finished" for a set number of status polls, then applies its work once.

Progress is driven by polls rather than by time so tests are exact and never sleep; an import nobody polls stays
active, and counts against the account's limit of active imports, as an unfinished real one does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class ImportJob:
    id: str
    polls_left: int
    # Applies the import to the account and returns the report fields of the final status.
    work: Callable[[], dict]
    # A status forced by an injected fault; the import then changes nothing.
    forced_status: str | None = None
    final: dict | None = None
    # fields every status answer carries, e.g. the insight import's collectionName
    status_fields: dict = field(default_factory=dict)


class ImportJobs:
    def __init__(self, pending_status: str, done_status: str):
        self._lock = threading.Lock()
        self._jobs: dict[str, ImportJob] = {}
        self._pending_status = pending_status
        self._done_status = done_status

    def active_count(self) -> int:
        with self._lock:
            return sum(1 for job in self._jobs.values() if job.final is None)

    def submit(self, job: ImportJob) -> None:
        with self._lock:
            self._jobs[job.id] = job
            if job.polls_left <= 0:
                self._finish(job)

    def poll(self, import_id: str) -> dict | None:
        with self._lock:
            job = self._jobs.get(import_id)
            if job is None:
                return None
            if job.final is None:
                if job.polls_left > 0:
                    job.polls_left -= 1
                    return {"importId": job.id, "status": self._pending_status, **job.status_fields}
                self._finish(job)
            return job.final

    def _finish(self, job: ImportJob) -> None:
        if job.forced_status is not None:
            job.final = {"importId": job.id, "status": job.forced_status, **job.status_fields}
        else:
            job.final = {"importId": job.id, "status": self._done_status, **job.status_fields, **job.work()}
