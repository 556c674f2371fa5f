"""plan's estimate against the real upgrade, and how long plan itself takes.

    python bench/bench_estimate.py --log-rows 200000 1000000 --runs 3

For each size: generate a Harbor 0.5.0 database (bench/generate.py), then per run:
clone it, time ``plan`` (its estimate comes from calibration: the journal is empty),
upgrade the clone and compare; then a second clone is planned again, now with the
first upgrade's timings in the journal (what a rehearsal gives production), and
upgraded. Prints the estimate/actual ratios (goal: within ±25 %) and plan's time on
the largest database (goal: under 2 s at 2M rows).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import bench_server, clone_database, drop_database, median  # noqa: E402
from bench.generate import generate  # noqa: E402
from migrator import api  # noqa: E402
from migrator.chain.executor import UpgradeOptions  # noqa: E402
from migrator.safety.journal import Journal  # noqa: E402


def one_size(server, log_rows: int, runs: int) -> dict:
    server.create_database("template")
    generate(server.settings("template"), log_rows, seed=1)
    results = {"log_rows": log_rows, "calibrated": [], "journal": [], "plan_seconds": []}
    for run in range(runs):
        state = Path(tempfile.mkdtemp(prefix="hm-est-"))
        os.environ["HARBOR_MIGRATE_STATE_DIR"] = str(state)
        for phase in ("calibrated", "journal"):
            clone_database(server, "template", "registry")
            settings = server.settings("registry")
            t0 = time.perf_counter()
            plan = api.plan(settings, snapshot_dir=None)
            plan_seconds = time.perf_counter() - t0
            outcome = api.upgrade(settings, UpgradeOptions(watch_interval=0), force_clients=True,
                                  journal=Journal(settings))
            actual = outcome.result.seconds
            results[phase].append({"estimate": plan.seconds, "actual": actual, "ratio": plan.seconds / actual,
                                   "source": plan.rates_source})
            results["plan_seconds"].append(plan_seconds)
            print(f"{log_rows:>9} rows run {run + 1} {phase:>10}: estimate {plan.seconds:6.2f}s actual {actual:6.2f}s "
                  f"ratio {plan.seconds / actual:5.2f} ({plan.rates_source}); plan took {plan_seconds:.2f}s", flush=True)
            drop_database(server, "registry")
    drop_database(server, "template")
    for phase in ("calibrated", "journal"):
        results[f"median_ratio_{phase}"] = median([r["ratio"] for r in results[phase]])
    results["median_plan_seconds"] = median(results["plan_seconds"])
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log-rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    out = []
    with bench_server() as server:
        for rows in args.log_rows:
            out.append(one_size(server, rows, args.runs))
    print("\nsize       calibrated estimate/actual   journal estimate/actual   plan time (median)")
    for r in out:
        print(f"{r['log_rows']:>9}  {r['median_ratio_calibrated']:>10.2f}              "
              f"{r['median_ratio_journal']:>10.2f}                {r['median_plan_seconds']:.2f}s")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
