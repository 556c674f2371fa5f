"""Issue 17, avenue 1 by hand: what would building access_log's new table while the snapshot
streams save?

    python bench/try_overlap.py --log-rows 1000000 --runs 3

On a throwaway MariaDB, one generated 0.5.0 database; then, each variant on a fresh copy read
once into the buffer pool (InnoDB settled), order rotating from run to run:

- ``snapshot``: ``take_snapshot`` alone (the tool's own, into a temp directory);
- ``load``: the first half of RebuildAccessLog alone (bench_upgrade's "as now" shape: session
  flags, ``CREATE`` of the new table, ``INSERT … SELECT … LEFT JOIN user``), on a connection
  of its own;
- ``both``: the two at once, the load starting once the snapshot has listed its tables (so the
  new table is not in it), each on its own connection; wall time until both are done.

What the window would gain is ``snapshot + load - both``; the rest of the rebuild (the index,
the swap) comes after the snapshot either way. Not product code: the figures go to
docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile
import threading
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench.bench_upgrade import SHAPES  # noqa: E402
from bench.common import bench_server, clone_database, drop_database, median, settle, terminate_on_sigterm, warm  # noqa: E402
from bench.generate import generate  # noqa: E402
from migrator.mysql.connection import connect  # noqa: E402
from migrator.snapshot.take import take_snapshot  # noqa: E402

TEMPLATE, DB = "bench_template", "registry"
LOAD = SHAPES["as now: load, then ADD KEY + AUTO_INCREMENT in place"][:4]   # flags, CREATE, INSERT … SELECT


def run_snapshot(server) -> float:
    with connect(server.settings(DB)) as db, tempfile.TemporaryDirectory(prefix="hm-overlap-") as out:
        t0 = time.perf_counter()
        take_snapshot(db, out)
        return time.perf_counter() - t0


def run_load(server) -> float:
    with connect(server.settings(DB)) as db:
        t0 = time.perf_counter()
        for sql in LOAD:
            db.execute(sql)
        return time.perf_counter() - t0


def run_both(server) -> tuple[float, float, float]:
    """(wall, snapshot seconds, load seconds) with the two side by side."""
    times: dict[str, float] = {}
    errors: list[BaseException] = []
    listed = threading.Event()

    def snapshot() -> None:
        try:
            with connect(server.settings(DB)) as db, tempfile.TemporaryDirectory(prefix="hm-overlap-") as out:
                original = db.table_names

                def table_names():   # the snapshot lists its tables once, at its start
                    names = original()
                    listed.set()
                    return names
                db.table_names = table_names
                t0 = time.perf_counter()
                take_snapshot(db, out)
                times["snapshot"] = time.perf_counter() - t0
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            listed.set()

    def load() -> None:
        try:
            listed.wait()
            times["load"] = run_load(server)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=snapshot), threading.Thread(target=load)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - t0, times["snapshot"], times["load"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--log-rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args(argv)
    terminate_on_sigterm()
    results: dict[str, list[float]] = {"snapshot": [], "load": [], "both": [], "both: snapshot": [], "both: load": []}
    with bench_server() as server:
        server.create_database(TEMPLATE)
        generate(server.settings(TEMPLATE), args.log_rows, 1)
        names = ["snapshot", "load", "both"]
        for i in range(args.runs):
            for name in names[i % 3:] + names[:i % 3]:
                drop_database(server, DB)
                clone_database(server, TEMPLATE, DB)
                warm(server, DB)
                settle(server)
                if name == "snapshot":
                    results[name].append(run_snapshot(server))
                elif name == "load":
                    results[name].append(run_load(server))
                else:
                    wall, snap, load = run_both(server)
                    results["both"].append(wall)
                    results["both: snapshot"].append(snap)
                    results["both: load"].append(load)
                print(f"   run {i + 1} {name}: {results[name][-1]:.2f}s", flush=True)
        drop_database(server, DB)
    print(f"\n{args.log_rows:,} access_log rows, medians of {args.runs}:")
    for name, ts in results.items():
        print(f"   {name:15s} {median(ts):6.2f}s  runs {', '.join(f'{x:.2f}' for x in ts)}")
    apart = median(results["snapshot"]) + median(results["load"])
    print(f"   one after the other {apart:.2f}s; side by side {median(results['both']):.2f}s: "
          f"saves {apart - median(results['both']):.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
