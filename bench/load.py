"""A busy store's day on a compressed clock, synced every 5 minutes: what each sync asked for what changed.

    python bench/load.py [--hours 24] [--peak 400] [--compression 30] [--latency-ms 80] [--seed 5]

Each step moves the store's clock 5 minutes, makes that interval's changes (new and edited customers, subscribers
and their consent, orders and their statuses, products, carts, and deletes, which reach the pipeline by webhook),
then runs the sync the schedule runs at the interval's end. The rate follows a day's curve, quiet at night and
busiest in the evening, with a flash sale at 20:00. After the day, syncs until quiet, then the store, DuckDB
staging and dotmailer must agree.

Exit status 1 if a sync failed, asked BigCommerce for more than one request per stream + one per 250 changed rows
of a stream + 2, called dotmailer when the store had not changed, or the store and dotmailer disagree at the end.
Wall time is reported against the interval's length at the stated compression, not judged: it is this machine's.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

# Run as a script (python bench/load.py), the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bc_pipeline_tests.reliability.harness import (  # noqa: E402
    REQUESTS_BEYOND_PAGES,
    STREAMS,
    SYNC_INTERVAL_S,
    LoadOutcome,
    LoadSync,
    load_problems,
    run_load,
    start_pipeline_in,
)

# Changes per 5 minutes in each hour of the day, as a share of the evening peak; 20:00 is a flash sale.
HOURLY_SHARE = (0.10, 0.05, 0.0, 0.0, 0.02, 0.05, 0.15, 0.30, 0.45, 0.55, 0.65, 0.75,
                0.90, 0.80, 0.65, 0.60, 0.65, 0.80, 0.95, 1.00, 2.00, 0.80, 0.50, 0.25)
INTERVALS_PER_HOUR = 3600 // SYNC_INTERVAL_S
STORE = dict(customers=2000, subscribers=1000, orders=5000, products=300)
STREAM_ROUTES = {"customers": "GET /v3/customers", "subscribers": "GET /v3/customers/subscribers",
                 "orders": "GET /v2/orders", "products": "GET /v3/catalog/products"}
COLUMNS = ("sync", "ends at", "changes", "rows c/s/o/p", "deleted", "BC c/s/o/p+other", "BC", "bound", "dm",
           "wall s", "wall/interval", "outcome")
WIDTHS = (4, 7, 7, 15, 7, 16, 3, 5, 3, 6, 13, 7)
PROBLEMS_SHOWN = 10


def changes_per_interval(hours: int, peak: int, seed: int) -> list[int]:
    """The day's curve, each interval drawn around its hour's rate so that no two are alike."""
    rng = random.Random(seed)
    return [round(peak * HOURLY_SHARE[(start // INTERVALS_PER_HOUR) % 24] * rng.uniform(0.6, 1.4))
            for start in range(hours * INTERVALS_PER_HOUR)]


def _requests_by_stream(sync: LoadSync) -> str:
    per_stream = [sync.bigcommerce_requests.get(STREAM_ROUTES[stream], 0) for stream in STREAMS]
    other = sync.bigcommerce_total - sum(per_stream)
    return "/".join(map(str, per_stream)) + f"+{other}"


def row(number: int, sync: LoadSync, interval_s: float) -> tuple[str, ...]:
    minutes = number * SYNC_INTERVAL_S // 60
    return (str(number), f"{minutes // 60 % 24:02d}:{minutes % 60:02d}", str(sync.changes),
            "/".join(str(sync.changed_rows[stream]) for stream in STREAMS), str(sync.deleted_rows),
            _requests_by_stream(sync), str(sync.bigcommerce_total), str(sync.request_bound),
            str(sync.dotmailer_total), f"{sync.wall_s:.2f}", f"{sync.wall_s / interval_s:.2f}",
            "failed" if sync.failure else "ok")


def line(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cell.rjust(width) for cell, width in zip(cells, WIDTHS)) + " |"


def summary(syncs: list[LoadSync], interval_s: float) -> list[str]:
    per_change = max((s.bigcommerce_total / s.changes for s in syncs if s.changes), default=0.0)
    beyond_streams = max(((s.bigcommerce_total - len(STREAMS)) / s.change_pages for s in syncs if s.change_pages),
                         default=0.0)
    unchanged = [s for s in syncs if not s.store_changed]
    worst_wall = max(syncs, key=lambda sync: sync.wall_s)
    return [
        f"{len(syncs)} syncs, {sum(s.changes for s in syncs):,} changes, {sum(s.bigcommerce_total for s in syncs):,} "
        f"BigCommerce and {sum(s.dotmailer_total for s in syncs):,} dotmailer requests; "
        f"{len(unchanged)} syncs found nothing changed; they asked BigCommerce at most "
        f"{max((s.bigcommerce_total for s in unchanged), default=0)} and dotmailer at most "
        f"{max((s.dotmailer_total for s in unchanged), default=0)} requests",
        f"max BigCommerce requests per change (syncs with changes): {per_change:.2f}",
        f"max (BigCommerce requests - {len(STREAMS)} streams) / Σ ceil(changed rows of a stream / 250) (syncs with "
        f"changed rows): "
        f"{beyond_streams:.2f}",
        f"max wall / interval: {worst_wall.wall_s / interval_s:.2f} ({worst_wall.wall_s:.2f} s of {interval_s:.1f} s; "
        f"{worst_wall.wall_s / SYNC_INTERVAL_S:.3f} of the real 5 minutes)",
        f"{sum(bool(s.failure) for s in syncs)} syncs failed",
    ]


def after_the_day(outcome: LoadOutcome | str) -> str:
    if isinstance(outcome, str):
        return f"after the day: did not converge: {outcome[:400]}"
    return (f"after the day: quiet after {outcome.quiet_after_syncs} sync(s); "
            f"{len(outcome.problems.all())} differences between the store, staging and dotmailer")


def run_day(args: argparse.Namespace, interval_s: float) -> tuple[list[LoadSync], LoadOutcome | str]:
    """The day's syncs as they ended, and the outcome after it, or why the syncs after it did not go quiet."""
    syncs: list[LoadSync] = []

    def show(sync: LoadSync) -> None:
        syncs.append(sync)
        print(line(row(len(syncs), sync, interval_s)), flush=True)

    with tempfile.TemporaryDirectory(prefix="bc-load-") as root:
        pipeline = start_pipeline_in(Path(root), {**STORE, "seed": args.seed, "latency_ms": args.latency_ms})
        os.environ.update(pipeline.env())
        print(line(COLUMNS))
        print(line(tuple("-" * len(column) for column in COLUMNS)))
        try:
            return syncs, run_load(pipeline, changes_per_interval(args.hours, args.peak, args.seed), on_sync=show)
        except AssertionError as failure:
            return syncs, str(failure)
        finally:
            pipeline.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--hours", type=int, default=24, help="hours of store time, from midnight")
    parser.add_argument("--peak", type=int, default=400, help="changes per 5 minutes at the evening peak")
    parser.add_argument("--compression", type=float, default=30,
                        help="store time per real time: at 30, a 5-minute interval lasts 10 s")
    parser.add_argument("--latency-ms", type=int, default=80, help="BigCommerce's latency per request")
    parser.add_argument("--seed", type=int, default=5, help="the store's and the day's")
    args = parser.parse_args()
    print(f"load: {args.hours} h of a store of {STORE} at ×{args.compression:g}; bound per sync = "
          f"{len(STREAMS)} streams + Σ ceil(changed rows / 250) + {REQUESTS_BEYOND_PAGES}", flush=True)
    started = time.monotonic()
    interval_s = SYNC_INTERVAL_S / args.compression
    syncs, outcome = run_day(args, interval_s)
    print("\n" + "\n".join([*summary(syncs, interval_s), after_the_day(outcome)]) +
          f"\n{time.monotonic() - started:.0f} s.")
    problems = load_problems(syncs) + ([outcome] if isinstance(outcome, str) else outcome.problems.all())
    for problem in problems[:PROBLEMS_SHOWN]:
        print(problem)
    if len(problems) > PROBLEMS_SHOWN:
        print(f"... and {len(problems) - PROBLEMS_SHOWN} more")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
