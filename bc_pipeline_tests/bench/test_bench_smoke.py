"""The benchmark's measuring code on a tiny unthrottled store, peers skipped: the table it writes has its
rows, and our extractor makes exactly the minimum number of requests. No timing is asserted. And how the report
tells where a sync in rounds spent its wall."""

from __future__ import annotations

import pickle

from bench import report, run
from bench.floors import minimum_requests
from bench.measure import Measured
from bench.outcome import RunOutcome
from bench.traffic import Traffic

TINY_STORE = "120/300/20/40"
# Orders are read from both ends of their id range at once, and where the two directions meet one page is read
# by both. Beyond that, none: the store's clock comes with the first answer, the extractor stops on a short page,
# and at this size no stream's row count is an exact multiple of 250.
EXTRA_REQUESTS = 1


def test_bench_writes_the_table_with_minimum_requests(tmp_path):
    out = tmp_path / "results.md"
    run.main(["--sizes", TINY_STORE, "--skip-peers", "--quota", "0", "--pro-quota", "0", "--latency-ms", "0",
              "--workdir", str(tmp_path / "work"), "--out", str(out)])

    table = out.read_text(encoding="utf-8")
    for heading in ("## Machine and versions", "## Settings", "## Memory and CPU as the store grows", "## Targets"):
        assert heading in table
    assert "| 120 / 300 / 20 / 40 |" in table
    assert "nproc" in table
    assert "| CPU speed check | 50 parses of a 0.8 MiB page: Python json " in table

    results = pickle.loads((tmp_path / "work" / "results.pickle").read_bytes())
    (size_run,) = results.size_runs
    assert size_run.full_sync.ok and size_run.extract.ok
    listed = {stream: size_run.store.rows[stream] for stream in ("customers", "orders", "products")}
    assert size_run.extract.traffic.bigcommerce_total == minimum_requests(listed) + EXTRA_REQUESTS
    assert size_run.extract.lost == {"customers": 0, "orders": 0, "products": 0}
    assert size_run.extract.rows["line items"] == size_run.store.line_items
    # The sandbox's own CPU is counted for every run: serving pages costs it CPU on the measured machine's cores.
    assert size_run.extract.traffic.sandbox_cpu_s > 0 and size_run.full_sync.traffic.sandbox_cpu_s > 0
    # The sync reports each step's time, so the report can say where a sync's wall went beyond the extraction.
    steps = size_run.full_sync.steps
    assert steps["bigcommerce_streams"] > 0 and steps["dotmailer__orders_insight"] > 0
    assert sum(steps.values()) < size_run.full_sync.measured.wall_s
    assert "; after it " in report._wall_by_step(size_run.full_sync, floor_s=1.0)


def test_a_sync_in_rounds_is_reported_by_its_last_round_after_the_extraction():
    rounds = [{"bigcommerce_streams": 8.0, "transform__contacts": 0.5, "dotmailer__orders_insight": 3.0},
              {"bigcommerce_streams": 18.0, "dotmailer__orders_insight": 2.0}]
    sync = RunOutcome("ours", "standard", Measured(wall_s=36.0, cpu_s=10.0, peak_rss_mib=300.0, returncode=0),
                      Traffic(), round_steps=rounds)

    text = report._wall_by_step(sync, floor_s=26.0)

    assert text == ("start-up and Dagster 4.5 s; 2 rounds: extraction 26.0 s in all (1.00× the quota floor, its waits "
                    "for the quota included), transforms and loads of the rounds before the last 3.5 s; after the "
                    "last round's extraction 2.0 s: dotmailer__orders_insight 2.0 s")
