"""Our snapshot and restore against mariadb-dump and the mariadb client, on the same database.

    python bench/bench_snapshot.py --log-rows 1000000 --runs 5

On a throwaway MariaDB, one generated Harbor 0.5.0 database (``bench/generate.py``), then
``runs`` times each, interleaved (so background noise hits all alike; the snapshot and the
plain dump take turns going first), medians reported:

- ``take_snapshot(db, dir)``: mariadb-dump as the data engine, its text zstd-compressed
  and hashed per table as it streams, the manifest's DDL and projections read beside it
  in the same consistent snapshot, files fsynced;
- ``mariadb-dump --single-transaction DB > file`` (plain SQL, no checksums, no manifest),
  and, with ``--gzip``, the same piped through ``gzip -1`` for a compressed reference;
- ``restore_snapshot(path, settings)`` into a new database: checks the file's hash, loads
  (tables first, then their rows over two client sessions, indexes and foreign keys
  after the rows), and reads every table back against the manifest's counts and digests;
- ``mariadb DB < file`` into a new database (the plain dump; no checks).

The peak RSS of this process (which ran the snapshots and the restores) is reported too, and
the CPU seconds of the snapshot and the plain dump: this process, the client processes, the
server (``/proc/PID/stat``), medians.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench.common import (DEFAULT_BUFFER_POOL, bench_server, cpu_seconds, drop_database, machine,  # noqa: E402
                          median, peak_rss_mb, server_facts, settle, terminate_on_sigterm, warm)
from bench.generate import generate  # noqa: E402
from migrator.mysql.connection import connect  # noqa: E402
from migrator.tools.local_server import find_binary  # noqa: E402
from migrator.snapshot.restore import restore_snapshot  # noqa: E402
from migrator.archive.manifest import snapshot_paths  # noqa: E402
from migrator.snapshot.take import take_snapshot  # noqa: E402

SOURCE = "registry"


def _client(name: str, fallback: str) -> str:
    found = find_binary([name, fallback])
    if not found:
        raise SystemExit(f"{name} not found: apt-get install mariadb-client")
    return found


def run(log_rows: int, runs: int, seed: int, buffer_pool: str, with_gzip: bool, say=print) -> dict:
    dump_bin = _client("mariadb-dump", "mysqldump")
    client_bin = _client("mariadb", "mysql")
    result: dict = {"log_rows": log_rows, "seed": seed, "runs": runs, "machine": machine()}
    times: dict[str, list[float]] = {k: [] for k in ("take_snapshot", "mariadb-dump", "mariadb-dump | gzip -1",
                                                     "restore_snapshot", "mariadb < dump")}
    sizes: dict[str, int] = {}
    cpu: dict[str, list[tuple[float, ...]]] = {"take_snapshot": [], "mariadb-dump": []}
    with bench_server(buffer_pool) as server, tempfile.TemporaryDirectory(prefix="hm-bench-snap-") as work:
        work_dir = pathlib.Path(work)
        result["server"] = server_facts(server)
        server.create_database(SOURCE)
        g = generate(server.settings(SOURCE), log_rows, seed)
        with connect(server.settings(SOURCE)) as db:
            mib = db.scalar("SELECT ROUND(SUM(DATA_LENGTH + INDEX_LENGTH) / 1048576, 1) FROM information_schema.TABLES "
                            "WHERE TABLE_SCHEMA = %s", (SOURCE,))
        result["database_mib"] = float(mib)
        say(f"== snapshot/restore, {log_rows:,} access_log rows: generated in {g.total_seconds:.1f}s, "
            f"database {mib} MiB")
        warm(server, SOURCE)
        conn_args = [f"--socket={server.socket}", "-uroot"]
        for i in range(runs):
            snap_dir = work_dir / f"snap{i}"
            dump_sql = work_dir / "dump.sql"

            def time_snapshot() -> pathlib.Path:
                settle(server)
                c0, t0 = cpu_seconds(server), time.perf_counter()
                with connect(server.settings(SOURCE)) as db:
                    manifest = take_snapshot(db, snap_dir, name="bench")
                times["take_snapshot"].append(time.perf_counter() - t0)
                cpu["take_snapshot"].append(tuple(b - a for a, b in zip(c0, cpu_seconds(server))))
                sizes["take_snapshot"] = snapshot_paths(manifest)[0].stat().st_size
                result["peak_rss_after_snapshots_mib"] = round(peak_rss_mb(), 1)
                return manifest

            def time_dump() -> None:
                settle(server)
                c0, t0 = cpu_seconds(server), time.perf_counter()
                with open(dump_sql, "wb") as out:
                    subprocess.run([dump_bin, *conn_args, "--single-transaction", SOURCE], stdout=out, check=True)
                times["mariadb-dump"].append(time.perf_counter() - t0)
                cpu["mariadb-dump"].append(tuple(b - a for a, b in zip(c0, cpu_seconds(server))))
                sizes["mariadb-dump"] = dump_sql.stat().st_size

            # which of the two goes first alternates: whatever the run before left behind
            # (InnoDB's background work after the last DROP DATABASE, the kernel writing out
            # the last files) falls on each alike
            if i % 2 == 0:
                manifest = time_snapshot()
                time_dump()
            else:
                time_dump()
                manifest = time_snapshot()
            if with_gzip:
                settle(server)
                t0 = time.perf_counter()
                with open(work_dir / "dump.sql.gz", "wb") as out:
                    dump = subprocess.Popen([dump_bin, *conn_args, "--single-transaction", SOURCE],
                                            stdout=subprocess.PIPE)
                    gz = subprocess.run(["gzip", "-1"], stdin=dump.stdout, stdout=out, check=True)
                    dump.stdout.close()
                    if dump.wait() != 0 or gz.returncode != 0:
                        raise RuntimeError("mariadb-dump | gzip failed")
                times["mariadb-dump | gzip -1"].append(time.perf_counter() - t0)
                sizes["mariadb-dump | gzip -1"] = (work_dir / "dump.sql.gz").stat().st_size
                (work_dir / "dump.sql.gz").unlink()
            # -- ours: restore into a new database
            target = f"restored_{i}"
            drop_database(server, target)
            settle(server)
            t0 = time.perf_counter()
            restore_snapshot(manifest, server.settings(target))
            times["restore_snapshot"].append(time.perf_counter() - t0)
            drop_database(server, target)
            shutil.rmtree(snap_dir)
            # -- mariadb < dump
            reload = f"reloaded_{i}"
            server.create_database(reload)
            settle(server)
            t0 = time.perf_counter()
            with open(dump_sql, "rb") as inp:
                subprocess.run([client_bin, *conn_args, reload], stdin=inp, check=True)
            times["mariadb < dump"].append(time.perf_counter() - t0)
            drop_database(server, reload)
            dump_sql.unlink()
            say(f"   run {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items() if v)
                + f"  (load {os.getloadavg()[0]:.1f})")
    result["times"] = {k: {"median": median(v), "runs": v} for k, v in times.items() if v}
    result["bytes"] = sizes
    parts = ("ours", "clients", "server")
    result["cpu_seconds"] = {k: {part: median([c[n] for c in v]) for n, part in enumerate(parts)}
                             for k, v in cpu.items()}
    result["peak_rss_mib"] = round(peak_rss_mb(), 1)
    return result


def report(r: dict, say=print) -> None:
    t = r["times"]
    say(f"\n== snapshot and restore, {r['log_rows']:,} access_log rows ({r['database_mib']} MiB in InnoDB), "
        f"medians of {r['runs']}")
    for name, v in t.items():
        size = r["bytes"].get(name)
        say(f"  {name:24s} {v['median']:7.2f}s   runs {', '.join(f'{x:.2f}' for x in v['runs'])}"
            + (f"   file {size / 1048576:.0f} MiB" if size else ""))
    say(f"  take_snapshot / mariadb-dump:     {t['take_snapshot']['median'] / t['mariadb-dump']['median']:.2f}")
    if "mariadb-dump | gzip -1" in t:
        say(f"  take_snapshot / dump | gzip -1:   "
            f"{t['take_snapshot']['median'] / t['mariadb-dump | gzip -1']['median']:.2f}")
    say(f"  restore_snapshot / mariadb < dump: {t['restore_snapshot']['median'] / t['mariadb < dump']['median']:.2f}")
    for name, c in r.get("cpu_seconds", {}).items():
        say(f"  CPU seconds of {name} (medians): this process {c['ours']:.2f}, clients {c['clients']:.2f}, "
            f"server {c['server']:.2f}, total {sum(c.values()):.2f}")
    say(f"  peak RSS: {r['peak_rss_after_snapshots_mib']} MiB after the snapshots, {r['peak_rss_mib']} MiB after "
        "the restores")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--log-rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--buffer-pool", default=DEFAULT_BUFFER_POOL)
    p.add_argument("--gzip", action="store_true", help="also time mariadb-dump | gzip -1")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    terminate_on_sigterm()
    r = run(args.log_rows, args.runs, args.seed, args.buffer_pool, args.gzip)
    report(r)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(r, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
