"""The move 1.5.0 MySQL -> 1.6.0 PostgreSQL against its floor, side by side in one run.

    python bench/bench_move.py --log-rows 1000000 2000000 --runs 3
    python bench/bench_move.py --log-rows 10000000 --runs 1 --no-floor     # peak RSS only

For each size, on a throwaway MariaDB and a throwaway PostgreSQL (``LocalPostgres``,
same cluster for both measurements): generate a Harbor 0.5.0 database
(``bench/generate.py``), upgrade it to 1.5.0 (``api.upgrade``), read it once into the
buffer pool. Then ``--runs`` times, the order alternating (floor first in odd runs):

- **floor**: every source table exported to a file with the client in batch mode
  (``mariadb -B -N --quick``, the columns the move reads), then ``COPY … FROM`` each
  file (server-side, ``NULL 'NULL'`` as the client writes it) into a fresh database
  whose tables already have their final primary keys, unique constraints and indexes
  (foreign keys and triggers left out: they are not part of a bulk load). Export and
  COPY summed.
- **move**: ``move_database`` into a fresh database, in a child process (its own
  wall time around the call, and its peak RSS from ``getrusage``).

Medians, the ratio move/floor, the load average. The source is only read, so every run
reads the same database. Everything is torn down at the end, also on Ctrl-C/SIGTERM.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench.common import bench_server, machine, median, server_facts, settle, terminate_on_sigterm, warm  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]


def child_move(source_json: str, target_json: str) -> None:
    """Run one move in this (fresh) process; print its seconds and this process's peak RSS."""
    from migrator.move.copy import move_database
    from migrator.postgres.settings import PgSettings
    from migrator.settings import ConnectionSettings
    source = ConnectionSettings(**json.loads(source_json))
    target = PgSettings(**json.loads(target_json))
    t0 = time.perf_counter()
    result = move_database(source, target)
    wall = time.perf_counter() - t0
    print(json.dumps({"wall": wall, "rows": result.rows,
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def measure_move(source, pg, database: str) -> dict:
    pg.create_database(database)
    target = dataclasses.asdict(pg.superuser_settings(database))
    out = subprocess.run([sys.executable, __file__, "--child", json.dumps(dataclasses.asdict(source)),
                          json.dumps(target)],
                         check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def floor_schema() -> list[str]:
    from migrator.move.target_schema import phase_after_load, phase_tables
    return list(phase_tables()) + [s for s in phase_after_load()
                                   if "FOREIGN KEY" not in s and "TRIGGER" not in s.upper()]


def measure_floor(server, pg, source_db: str, database: str, folder: pathlib.Path) -> dict:
    from migrator.move import conversions as conv
    from migrator.postgres.connection import connect_pg
    pg.create_database(database)
    settings = server.settings(source_db)
    export = copy = 0.0
    with connect_pg(pg.superuser_settings(database)) as db:
        for statement in floor_schema():
            db.execute(statement)
        for move in conv.MOVES:
            if move.source is None:
                continue
            path = folder / f"{move.name}.tsv"
            cols = ", ".join(f"`{c}`" for c in move.source_columns)
            t0 = time.perf_counter()
            with open(path, "wb") as fh:
                subprocess.run(["mariadb", "-B", "-N", "--quick", f"--socket={settings.unix_socket}",
                                "-u", settings.user, *([f"-p{settings.password}"] if settings.password else []),
                                source_db, "-e", f"SELECT {cols} FROM `{move.source}`"], stdout=fh, check=True)
            export += time.perf_counter() - t0
            os.chmod(path, 0o644)
            t0 = time.perf_counter()
            db.execute(f'COPY "{move.name}" ({", ".join(move.target_columns)}) FROM \'{path}\' '
                       "WITH (NULL 'NULL')")
            copy += time.perf_counter() - t0
            path.unlink()
    return {"wall": export + copy, "export": export, "copy": copy}


def loadavg() -> str:
    return " ".join(open("/proc/loadavg", encoding="ascii").read().split()[:3])


def run_size(log_rows: int, runs: int, seed: int, floor: bool, say=print) -> dict:
    from bench.generate import generate
    from migrator import api
    from migrator.chain.executor import UpgradeOptions
    from migrator.safety.journal import Journal
    from migrator.tools.local_postgres import LocalPostgres
    result: dict = {"log_rows": log_rows, "runs": [], "load_before": loadavg()}
    with bench_server() as server, LocalPostgres() as pg, \
            tempfile.TemporaryDirectory(prefix="hm-bench-move-") as tmp:
        pg.start()
        folder = pathlib.Path(tmp)
        os.chmod(folder, 0o755)        # the PostgreSQL server (its own user) reads the exported files
        server.create_database("registry")
        t0 = time.monotonic()
        generate(server.settings("registry"), log_rows, seed)
        settings = server.settings("registry")
        api.upgrade(settings, UpgradeOptions(target="1.5.0"), journal=Journal(settings, directory=folder))
        say(f"{log_rows} rows: generated and upgraded to 1.5.0 in {time.monotonic() - t0:.1f}s")
        warm(server, "registry")
        settle(server)
        result["server"] = server_facts(server)
        for i in range(runs):
            order = ["floor", "move"] if i % 2 == 0 else ["move", "floor"]
            run: dict = {"order": order, "load": loadavg()}
            for what in order:
                if what == "floor" and not floor:
                    continue
                if what == "floor":
                    run["floor"] = measure_floor(server, pg, "registry", f"floor_{i}", folder)
                    pg.admin(f"DROP DATABASE floor_{i}")
                else:
                    run["move"] = measure_move(settings, pg, f"moved_{i}")
                    pg.admin(f"DROP DATABASE moved_{i}")
            say(f"  run {i + 1}: " + ", ".join(f"{k} {run[k]['wall']:.2f}s" for k in ("floor", "move") if k in run)
                + f" (move peak RSS {run['move']['peak_rss_mib']:.1f} MiB, load {run['load']})")
            result["runs"].append(run)
        moves = [r["move"]["wall"] for r in result["runs"]]
        result["move_median"] = median(moves)
        result["peak_rss_mib"] = max(r["move"]["peak_rss_mib"] for r in result["runs"])
        if floor:
            floors = [r["floor"]["wall"] for r in result["runs"]]
            result["floor_median"] = median(floors)
            result["ratio"] = result["move_median"] / result["floor_median"]
            result["floor_export_median"] = median([r["floor"]["export"] for r in result["runs"]])
            result["floor_copy_median"] = median([r["floor"]["copy"] for r in result["runs"]])
        result["load_after"] = loadavg()
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child_move(argv[1], argv[2])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--log-rows", type=int, nargs="+", default=[1_000_000, 2_000_000])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-floor", action="store_true", help="the move only (peak RSS at a large size)")
    p.add_argument("--json", type=pathlib.Path)
    args = p.parse_args(argv)
    terminate_on_sigterm()
    out = {"machine": machine(), "sizes": []}
    for rows in args.log_rows:
        r = run_size(rows, args.runs, args.seed, not args.no_floor)
        out["sizes"].append(r)
        print(f"{rows}: move {r['move_median']:.2f}s" + (
            f", floor {r['floor_median']:.2f}s (export {r['floor_export_median']:.2f} + COPY "
            f"{r['floor_copy_median']:.2f}), ratio {r['ratio']:.2f}x" if "ratio" in r else "")
            + f", peak RSS {r['peak_rss_mib']:.1f} MiB, load {r['load_before']} -> {r['load_after']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
