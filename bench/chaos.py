"""`make chaos`: the whole fault matrix against a live sandbox store, then a table per fault kind.

    python bench/chaos.py [--only SUBSTRING] [--suppress N]

Each case: live activity, its faults on, a sync, faults off, syncs until quiet, enrolment runs until quiet (the
clock moved past the budget hour for contacts the hourly budget holds back), then DuckDB staging, dotmailer and
the programs' enrolments are compared with the store's export. Rows lost (a contact never enrolled counts as one)
and duplicates must be 0; the exit status says whether they were. `make chaos` then runs bench/load.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# Run as a script (python bench/chaos.py), the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bc_pipeline_tests.reliability.harness import CaseOutcome, FaultCase, run_fault_case, start_pipeline_in  # noqa: E402
from bc_pipeline_tests.reliability.matrix import FULL_MATRIX  # noqa: E402

COLUMNS = ("fault kind", "faulted sync", "requests", "retries", "429s", "converge s", "syncs", "rows lost",
           "duplicates", "other")


def run_case(case: FaultCase, suppress: int) -> CaseOutcome | str:
    """The case's outcome, or why it could not converge."""
    with tempfile.TemporaryDirectory(prefix="bc-chaos-") as root:
        pipeline = start_pipeline_in(Path(root), case.bigcommerce_config, case.dotmailer_config)
        saved = {name: os.environ.get(name) for name in pipeline.env()}
        os.environ.update(pipeline.env())
        try:
            return run_fault_case(pipeline, case, suppress=suppress)
        except AssertionError as failure:
            return str(failure)
        finally:
            pipeline.stop()
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def row(case: FaultCase, outcome: CaseOutcome | str) -> tuple[str, ...]:
    if isinstance(outcome, str):
        return (case.name, "-", "-", "-", "-", "-", "-", "?", "?", "did not converge (below)")
    problems = outcome.problems
    return (case.name, "ok" if outcome.faulted_sync_succeeded else "failed", str(outcome.requests),
            str(outcome.faults_served), str(outcome.rate_limited), f"{outcome.converge_seconds:.1f}",
            str(outcome.quiet_after_syncs), str(len(problems.lost)), str(len(problems.duplicated)),
            str(len(problems.wrong)))


def render(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *map(line, rows)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="run only the cases whose name contains this")
    parser.add_argument("--suppress", type=int, default=2,
                        help="consenting subscribers to suppress in dotmailer first (none may be re-subscribed)")
    args = parser.parse_args()

    rows, details = [], []
    started = time.monotonic()
    for case in [c for c in FULL_MATRIX if args.only in c.name]:
        print(f"chaos: {case.name} ...", flush=True)
        outcome = run_case(case, args.suppress)
        rows.append(row(case, outcome))
        if isinstance(outcome, str):
            details.append(f"{case.name}: {outcome[:400]}")
        elif outcome.problems.all():
            details.append(f"{case.name}:\n  " + "\n  ".join(outcome.problems.all()[:20]))
    print()
    print(render(rows))
    print(f"\n'retries' counts the faults served (each forces a retry or a later resend); 'rows lost' counts contacts "
          f"never enrolled too; 'other' counts records present that must not be (unexpected, unconsented or "
          f"re-subscribed). {time.monotonic() - started:.0f} s.")
    for detail in details:
        print(detail)
    converged = all(r[7] == "0" and r[8] == "0" and r[9] == "0" for r in rows)
    return 0 if converged else 1


if __name__ == "__main__":
    raise SystemExit(main())
