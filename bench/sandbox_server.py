"""The benchmark's sandbox process: both emulated APIs, with the bytes each route moved counted.

It runs apart from the measured process so that the server's CPU and memory are not counted as the
pipeline's. The counter wraps the apps from outside: the sandboxes themselves stay as the tests use them.

    python -m bench.sandbox_server --env-file F --customers N --orders N --products N --subscribers N
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import threading
import time
from collections import Counter
from pathlib import Path

from bc_pipeline.sandbox.bigcommerce import BigCommerceSandbox, BigCommerceSandboxConfig
from bc_pipeline.sandbox.clock import SandboxClock
from bc_pipeline.sandbox.dotmailer import DotmailerSandbox, DotmailerSandboxConfig
from bc_pipeline.sandbox.serve import SandboxPair, serve_until_stopped
from bc_pipeline.sandbox.server import serve_in_thread

BYTES_PATH = "/_bench/bytes"
# Ids, import ids and dates in a path would make every request its own route.
VARIABLE_SEGMENT = re.compile(r"/(\d[\d:T.+-]*Z?|[0-9a-fA-F-]{16,}|[A-Za-z0-9_-]{20,})(?=/|$)")


def route_of(method: str, path: str) -> str:
    return f"{method} {VARIABLE_SEGMENT.sub('/{id}', path)}"


class ByteCounter:
    """ASGI middleware: request and response body bytes and request counts per route."""

    def __init__(self, app):
        self.app = app
        self._lock = threading.Lock()
        self.requests: Counter = Counter()
        self.sent: Counter = Counter()
        self.received: Counter = Counter()

    def snapshot(self) -> dict:
        # The sandbox shares the machine's cores with the measured process: the CPU it spent serving a run says how
        # much of the run's wall went to the server, which a real API would not take from the client's machine.
        with self._lock:
            return {"requests": dict(self.requests), "request_bytes": dict(self.sent),
                    "response_bytes": dict(self.received), "cpu_s": time.process_time()}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if scope["path"] == BYTES_PATH:
            return await self._answer_snapshot(send)
        route = route_of(scope["method"], scope["path"])
        counted = not scope["path"].startswith("/_sandbox")

        async def counting_receive():
            message = await receive()
            if counted and message["type"] == "http.request":
                with self._lock:
                    self.sent[route] += len(message.get("body", b""))
            return message

        async def counting_send(message):
            if counted and message["type"] == "http.response.body":
                with self._lock:
                    self.received[route] += len(message.get("body", b""))
            await send(message)

        if counted:
            with self._lock:
                self.requests[route] += 1
        return await self.app(scope, counting_receive, counting_send)

    async def _answer_snapshot(self, send):
        body = json.dumps(self.snapshot()).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def start(args: argparse.Namespace) -> SandboxPair:
    clock = SandboxClock()
    bigcommerce = BigCommerceSandbox(BigCommerceSandboxConfig(
        seed=args.seed, customers=args.customers, orders=args.orders, products=args.products,
        subscribers=args.subscribers, latency_ms=args.latency_ms, quota=args.quota, window_ms=args.window_ms,
    ), clock=clock)
    dotmailer = DotmailerSandbox(DotmailerSandboxConfig(seed=args.seed, import_steps=args.import_steps), clock=clock)
    # The generated store is millions of objects that live as long as the process; left to the collector,
    # every full collection walks them all, and a large request body's parse would pay for it.
    gc.collect()
    gc.freeze()
    bigcommerce_server = serve_in_thread(ByteCounter(bigcommerce.app))
    dotmailer_server = serve_in_thread(ByteCounter(dotmailer.app))
    return SandboxPair(bigcommerce, dotmailer, bigcommerce_server, dotmailer_server)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env-file", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    for name in ("customers", "orders", "products", "subscribers"):
        parser.add_argument(f"--{name}", type=int, required=True)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--quota", type=int, default=150)
    parser.add_argument("--window-ms", type=int, default=30000)
    parser.add_argument("--import-steps", type=int, default=1)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    serve_until_stopped(start(arguments), arguments.env_file, lambda pair: None)
