"""`make bench`: our sync against the API's floors and against the peers, written to bench/results.md.

    python bench/run.py [--large] [--latency-ms 80] [--sizes C/O/P/S,...] [--skip-peers]
                        [--quota 150] [--pro-quota 450] [--window-ms 30000] [--out bench/results.md]
"""

from __future__ import annotations

import argparse
import pickle
import shutil
import sys
import time
from pathlib import Path

# Run as a script (python bench/run.py), the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import machine_facts  # noqa: E402
from bench.report import render  # noqa: E402
from bench.sandbox_control import REPO_ROOT, StoreSize  # noqa: E402
from bench.suite import Plan, run_suite  # noqa: E402

DEFAULT_SIZES = "1000/3000/100/500,10000/30000/1000/5000"
LARGE_SIZE = "100000/300000/5000/50000"
# Airbyte asks once per order and the tap three times: a store of this size keeps each under minutes.
DEFAULT_PEER_SIZE = "1000/1000/200/500"


def parse_size(text: str) -> StoreSize:
    customers, orders, products, subscribers = (int(part) for part in text.split("/"))
    return StoreSize(customers, orders, products, subscribers)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help=f"add the {LARGE_SIZE} store and run the quota-bound "
                                                             "syncs on it")
    parser.add_argument("--latency-ms", type=int, default=80)
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help="customers/orders/products/subscribers, comma-separated, smallest first; the last one "
                             "is the size of the quota-bound runs")
    parser.add_argument("--peer-size", default=DEFAULT_PEER_SIZE)
    parser.add_argument("--skip-peers", action="store_true")
    parser.add_argument("--quota", type=int, default=150, help="Standard/Plus requests per window (0: no Standard run)")
    parser.add_argument("--pro-quota", type=int, default=450, help="Pro requests per window (0: no Pro run)")
    parser.add_argument("--window-ms", type=int, default=30000,
                        help="quota window; scale it with both quotas to compress a run's clock")
    parser.add_argument("--changes", type=int, default=100, help="store changes before the incremental sync")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / "bench" / "out")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results.md")
    return parser.parse_args(argv)


def plan_from(args: argparse.Namespace) -> Plan:
    sizes = [parse_size(text) for text in args.sizes.split(",")]
    if args.large:
        sizes.append(parse_size(LARGE_SIZE))
    quotas = [(label, quota) for label, quota in (("Standard", args.quota), ("Pro", args.pro_quota)) if quota]
    return Plan(sizes=tuple(sizes), peer_size=parse_size(args.peer_size), latency_ms=args.latency_ms,
                quotas=tuple(quotas), window_ms=args.window_ms, changes=args.changes, skip_peers=args.skip_peers,
                workdir=args.workdir)


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plan_from(args)
    shutil.rmtree(plan.workdir, ignore_errors=True)
    started = time.monotonic()
    results = run_suite(plan, log)
    # Kept so that the table can be rendered again without measuring again.
    (plan.workdir / "results.pickle").write_bytes(pickle.dumps(results))
    report = render(results, machine_facts(), time.monotonic() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
