"""`bc-pipeline sandbox serve`: both emulated APIs as real HTTP servers until SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

from bc_pipeline.sandbox.bigcommerce import BigCommerceSandbox, BigCommerceSandboxConfig
from bc_pipeline.sandbox.clock import SandboxClock
from bc_pipeline.sandbox.dotmailer import DotmailerSandbox, DotmailerSandboxConfig
from bc_pipeline.sandbox.server import RunningServer, serve_in_thread

SANDBOX_CLIENT_ID = "sandbox-client"


@dataclass
class SandboxPair:
    bigcommerce: BigCommerceSandbox
    dotmailer: DotmailerSandbox
    bigcommerce_server: RunningServer
    dotmailer_server: RunningServer

    def env(self) -> dict[str, str]:
        """The environment that points the pipeline at these two servers."""
        bc, dm = self.bigcommerce.config, self.dotmailer.config
        return {
            "BC_API_BASE_URL": self.bigcommerce_server.url,
            "BC_STORE_HASH": bc.store_hash,
            "BC_ACCESS_TOKEN": bc.access_token,
            "BC_CLIENT_ID": SANDBOX_CLIENT_ID,
            "DOTMAILER_API_BASE_URL": self.dotmailer_server.url,
            "DOTMAILER_API_USER": dm.api_user,
            "DOTMAILER_API_PASSWORD": dm.api_password,
        }

    def stop(self) -> None:
        self.bigcommerce_server.stop()
        self.dotmailer_server.stop()


def start_sandboxes(
    bigcommerce: BigCommerceSandboxConfig,
    dotmailer: DotmailerSandboxConfig,
    bigcommerce_port: int = 0,
    dotmailer_port: int = 0,
) -> SandboxPair:
    clock = SandboxClock()
    bc = BigCommerceSandbox(bigcommerce, clock=clock)
    dm = DotmailerSandbox(dotmailer, clock=clock)
    bc_server = serve_in_thread(bc.app, port=bigcommerce_port)
    try:
        dm_server = serve_in_thread(dm.app, port=dotmailer_port)
    except Exception:
        bc_server.stop()
        raise
    return SandboxPair(bc, dm, bc_server, dm_server)


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """Write KEY=VALUE lines readable only by their owner: the file holds (sandbox) credentials."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.writelines(f"{key}={value}\n" for key, value in env.items())
    os.replace(tmp, path)


def serve_until_stopped(pair: SandboxPair, env_file: Path | None, announce) -> None:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    try:
        if env_file is not None:
            write_env_file(env_file, pair.env())
        announce(pair)
        stop.wait()
    finally:
        pair.stop()
        if env_file is not None:
            env_file.unlink(missing_ok=True)
