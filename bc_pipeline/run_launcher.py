"""The run launcher dagster.yaml names: Dagster's default one, plus an answer to run monitoring's "is this run's
worker alive?".

The DefaultRunLauncher cannot answer it (dagster-io/dagster#4319), so a run whose instance was killed (power cut,
OOM killer, a restarted container) would stay STARTED until `max_runtime_seconds`, and the sync schedule, which
skips while a sync is in flight, would skip every tick until then.
"""

from __future__ import annotations

import json

import dagster as dg
import grpc
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import CanCancelExecutionRequest, CanCancelExecutionResult
from dagster._serdes import deserialize_value

HEALTH_PROBE_TIMEOUT_S = 10


class RunWorkerHealthRunLauncher(dg.DefaultRunLauncher):
    """DefaultRunLauncher that answers run monitoring's "is this run's worker alive?".

    The code server that launched a run holds its worker as a child process and knows whether it still runs it
    (the same question termination asks). A run whose code server is gone, or no longer runs it, has no worker:
    the instance it ran in was killed or restarted. Runs executed in another process (`bc-pipeline sync`) carry
    no code-server address and are left to `max_runtime_seconds`.
    """

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        grpc_info = run.tags.get(GRPC_INFO_TAG)
        if grpc_info is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "not launched through a code server; not checked")
        address = json.loads(grpc_info)
        client = DagsterGrpcClient(port=address.get("port"), socket=address.get("socket"), host=address.get("host"),
                                   use_ssl=bool(address.get("use_ssl", False)))
        try:
            answer = client.can_cancel_execution(CanCancelExecutionRequest(run_id=run.run_id),
                                                 timeout=HEALTH_PROBE_TIMEOUT_S)
        except DagsterUserCodeUnreachableError as error:
            cause = error.__cause__
            if isinstance(cause, grpc.RpcError) and cause.code() == grpc.StatusCode.UNAVAILABLE:
                return CheckRunHealthResult(WorkerStatus.FAILED, "the code server that launched this run is gone")
            # A slow or busy server is not a dead worker: monitoring asks again at its next poll.
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"code server did not answer: {error}")
        if deserialize_value(answer, CanCancelExecutionResult).can_cancel:
            return CheckRunHealthResult(WorkerStatus.RUNNING)
        return CheckRunHealthResult(WorkerStatus.FAILED, "the code server that launched this run no longer runs it")
