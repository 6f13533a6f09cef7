"""Run a sandbox ASGI app as a real HTTP server on 127.0.0.1.

Tests and the demo use the same uvicorn server the CLI runs, in a background thread, so every
request the pipeline makes crosses a real socket.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

import uvicorn


@dataclass
class RunningServer:
    host: str
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)


def _bound_socket(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 15.0) -> RunningServer:
    """Start `app` on host:port (0 picks a free port) and return once it accepts connections."""
    sock = _bound_socket(host, port)
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
        # Several pipeline threads share one quota; the sandbox must not be the bottleneck.
        limit_concurrency=None,
        # uvicorn's Date is the machine's time; a sandbox whose clock tests move sends its own.
        date_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"sandbox-{bound_port}")
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"sandbox server on {host}:{bound_port} did not start")
        time.sleep(0.01)
    return RunningServer(host=host, port=bound_port, _server=server, _thread=thread)
