"""The benchmark's side of the sandbox process: start it, read its environment, drive its control APIs."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StoreSize:
    customers: int
    orders: int
    products: int
    subscribers: int

    def label(self) -> str:
        return f"{self.customers:,} / {self.orders:,} / {self.products:,} / {self.subscribers:,}"


@dataclass(frozen=True)
class ApiLimits:
    latency_ms: int
    quota: int
    window_ms: int

    @property
    def requests_per_second(self) -> float:
        return self.quota / (self.window_ms / 1000)


@dataclass(frozen=True)
class ExportSummary:
    listed_ids: frozenset[int]       # what the list endpoint serves
    line_items: int                  # of the listed orders
    earliest_modified: datetime | None


def _parse_date(text: str) -> datetime:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _read_env_file(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text(encoding="utf-8").splitlines() if "=" in line)
    return {key: value for key, value in pairs}


class SandboxProcess:
    """One sandbox process for the lifetime of a `with` block; counters are read as before/after deltas."""

    def __init__(self, size: StoreSize, limits: ApiLimits, workdir: Path, seed: int = 7):
        self.size, self.limits, self.seed = size, limits, seed
        self._env_file = workdir / "sandbox.env"
        self._log = workdir / "sandbox.log"
        self._process: subprocess.Popen | None = None
        self.env: dict[str, str] = {}
        # Exports of a large store take seconds to render; only activity and a reset change which ids exist.
        self._summaries: dict[str, ExportSummary] = {}

    def __enter__(self) -> SandboxProcess:
        self._env_file.parent.mkdir(parents=True, exist_ok=True)
        self._env_file.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "bench.sandbox_server", "--env-file", str(self._env_file),
                "--seed", str(self.seed), "--latency-ms", str(self.limits.latency_ms),
                "--quota", str(self.limits.quota), "--window-ms", str(self.limits.window_ms)]
        for name in ("customers", "orders", "products", "subscribers"):
            argv += [f"--{name}", str(getattr(self.size, name))]
        with self._log.open("wb") as log:
            self._process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 600
        while not (self._env_file.exists() and self._env_file.stat().st_size):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox process did not start; see {self._log}")
            time.sleep(0.2)
        self.env = _read_env_file(self._env_file)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    @property
    def bigcommerce_url(self) -> str:
        return self.env["BC_API_BASE_URL"]

    @property
    def dotmailer_url(self) -> str:
        return self.env["DOTMAILER_API_BASE_URL"]

    @property
    def store_api_root(self) -> str:
        return f"{self.bigcommerce_url}/stores/{self.env['BC_STORE_HASH']}"

    def _call(self, url: str, method: str = "GET", body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=600) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def counters(self) -> dict:
        """Everything countable now: BigCommerce and dotmailer stats and bytes per route."""
        return {
            "bigcommerce": self._call(f"{self.bigcommerce_url}/_sandbox/stats"),
            "bigcommerce_bytes": self._call(f"{self.bigcommerce_url}/_bench/bytes"),
            "dotmailer": self._call(f"{self.dotmailer_url}/_sandbox/stats"),
            "dotmailer_bytes": self._call(f"{self.dotmailer_url}/_bench/bytes"),
        }

    def summary(self, kind: str) -> ExportSummary:
        """What the benchmark compares against, read from the store's export record by record: a large store's
        export would take gigabytes held whole."""
        if kind not in self._summaries:
            ids, line_items, earliest = set(), 0, None
            url = f"{self.bigcommerce_url}/_sandbox/export/{kind}"
            with urllib.request.urlopen(url, timeout=600) as response:
                for line in response:
                    if not line.strip():
                        continue
                    record = json.loads(line)
                    # The list endpoint leaves out incomplete orders (status 0) unless asked for them by status,
                    # so no extractor of the order list can deliver them.
                    if record.get("status_id") == 0:
                        continue
                    ids.add(int(record["id"]))
                    line_items += len(record.get("line_items") or [])
                    if record.get("date_modified"):
                        modified = _parse_date(record["date_modified"])
                        earliest = modified if earliest is None else min(earliest, modified)
            self._summaries[kind] = ExportSummary(frozenset(ids), line_items, earliest)
        return self._summaries[kind]

    def listed_ids(self, kind: str) -> frozenset[int]:
        return self.summary(kind).listed_ids

    def activity(self, changes: int) -> int:
        self._summaries.clear()
        return self._call(f"{self.bigcommerce_url}/_sandbox/activity", "POST", {"changes": changes})["changes"]

    def set_fault(self, kind: str, rate: float = 1.0, count: int | None = None) -> None:
        self._call(f"{self.bigcommerce_url}/_sandbox/faults", "POST", {"kind": kind, "rate": rate, "count": count})

    def clear_faults(self) -> None:
        self._call(f"{self.bigcommerce_url}/_sandbox/faults", "DELETE")

    def reset_store(self) -> None:
        """Back to the generated store (activity and mid-scan changes undone); counters keep counting."""
        self._summaries.clear()
        self._call(f"{self.bigcommerce_url}/_sandbox/reset", "POST")
