"""The downtime window (issue 17): the whole `upgrade` command against its floor and Harbor's chain.

    python bench/bench_window.py --log-rows 1000000 --runs 3 [--warm] [--modes default,copy]

On a throwaway MariaDB (``explicit_defaults_for_timestamp=OFF``, as stock Harbor) one
Harbor 0.5.0 database is generated (``bench/generate.py``), InnoDB is let settle, the server
is shut down slowly (``innodb_fast_shutdown=0``: nothing left to purge or merge) and its data
directory is kept as the template. Then, per run and mode, each of three measurements gets
its own server started **cold** from a fresh copy of that directory, as after Harbor is
stopped (with ``--warm``: after reading every table once, ``CHECKSUM TABLE``):

- **window**: ``python -m migrator upgrade --to 1.5.2 --yes --snapshot-dir DIR`` as a child
  process, the whole command (snapshot included), wall time, and the tool's peak RSS (the
  child's ``ru_maxrss`` from ``wait4``, which is the largest of the tool and the clients it
  ran, and ``VmHWM`` of the tool's own process polled every 20 ms);
- **floor**: ``mariadb-dump --single-transaction --quick`` of the database to a file, then one
  ``ALTER TABLE … FORCE`` of each table the upgrade rewrites (``bench_upgrade.FLOOR_TABLES``);
- **harbor**: Harbor's own chain 0.4.0 → 1.2.0 → 1.3.0 → 1.4.0 → 1.5.0, no backup
  (``bench/harbor_chain.py``);
- **baseline** (only with ``--baseline DIR``): the window again, with the tool from DIR (a
  checkout of another commit, e.g. ``git worktree add /tmp/base d5d2ca3``), to measure a
  change of the tool side by side with it.

Modes: ``default`` (the server chooses its ALTER algorithms) and ``copy`` (the server started
with ``--alter-algorithm=COPY``, so every ALTER of all three copies its table, as MySQL
5.6/5.7 do for most column changes; the tool has no flag for it, the server option reaches
its sessions). The three take turns going first from run to run. Medians, the ratios
window/floor and harbor/window, the load average at each run, JSON with ``--json``. Every
server and directory is removed at the end, also on Ctrl-C or SIGTERM.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench.bench_upgrade import FLOOR_TABLES  # noqa: E402
from bench.common import (DEFAULT_BUFFER_POOL, ROOT, SERVER_OPTIONS, machine, median, server_facts,  # noqa: E402
                          settle, terminate_on_sigterm, warm)
from bench.generate import generate  # noqa: E402
from bench.harbor_chain import run_chain  # noqa: E402
from migrator.mysql.connection import connect, quote_ident as q  # noqa: E402
from migrator.tools.local_server import LocalServer, find_binary  # noqa: E402

DB = "registry"
MODES = {"default": {}, "copy": {"alter-algorithm": "COPY"}}
KINDS = ("window", "floor", "harbor", "baseline")


def _options(buffer_pool: str, mode: str) -> dict[str, str]:
    return {**SERVER_OPTIONS, "innodb-buffer-pool-size": buffer_pool, **MODES[mode]}


@contextlib.contextmanager
def _server_from(template: pathlib.Path | None, options: dict[str, str]):
    """A server on a fresh copy of ``template`` (a stopped server's data directory), or a new
    empty one; destroyed on the way out."""
    server = LocalServer(dict(options))
    try:
        if template is not None:
            shutil.copytree(template, server.datadir)
            server._installed = True  # the copy is an installed data directory
        server.start()
        yield server
    finally:
        server.destroy()


def make_template(log_rows: int, seed: int, buffer_pool: str, dest: pathlib.Path, say=print) -> dict:
    with _server_from(None, _options(buffer_pool, "default")) as server:
        server.create_database(DB)
        g = generate(server.settings(DB), log_rows, seed)
        with connect(server.settings(DB)) as db:
            sizes = {t: round(int(b) / 1048576, 1) for t, b in db.query(
                "SELECT TABLE_NAME, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s", (DB,))}
            counts = {t: int(db.scalar(f"SELECT COUNT(*) FROM {q(t)}")) for t in ("access_log", "user")}
        settle(server)
        server.admin("SET GLOBAL innodb_fast_shutdown = 0")
        server.stop()
        shutil.copytree(server.datadir, dest)
    say(f"== {counts['access_log']:,} access_log rows, {counts['user']:,} users (seed {seed}): generated in "
        f"{g.total_seconds:.1f}s, access_log {sizes.get('access_log')} MiB; template {_du(dest):.0f} MiB")
    return {"generate_seconds": round(g.total_seconds, 2), "rows": counts, "mib": sizes}


def _du(path: pathlib.Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1048576


def _vmhwm_poller(pid: int, peak: list[int], stop: threading.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(OSError, ValueError):
            for line in open(f"/proc/{pid}/status", encoding="ascii"):
                if line.startswith("VmHWM:"):
                    peak[0] = max(peak[0], int(line.split()[1]))
        stop.wait(0.02)


def measure_window(server: LocalServer, work: pathlib.Path, root: pathlib.Path = ROOT) -> dict:
    snapdir = work / "snapshots"
    snapdir.mkdir()
    cmd = [sys.executable, "-m", "migrator", "upgrade", "--to", "1.5.2", "--yes", "--snapshot-dir", str(snapdir),
           "--socket", server.socket, "--user", "root", "--database", DB, "--json"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARBOR_MIGRATE_")}
    env["PYTHONPATH"] = str(root)
    out, err = work / "window.out", work / "window.err"
    peak, stop = [0], threading.Event()
    with open(out, "wb") as fo, open(err, "wb") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env, cwd=str(work))
        poller = threading.Thread(target=_vmhwm_poller, args=(proc.pid, peak, stop), daemon=True)
        poller.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        stop.set()
        poller.join()
    if proc.returncode != 0:
        raise RuntimeError(f"upgrade exited {proc.returncode}: {err.read_text(errors='replace')[-2000:]}")
    with connect(server.settings(DB)) as db:
        version = db.scalar("SELECT version_num FROM alembic_version")
    if version != "1.5.0":
        raise RuntimeError(f"upgrade ended at revision {version!r}, not 1.5.0")
    files = list(snapdir.rglob("*"))
    result = {"wall": wall, "rss_wait4_mib": usage.ru_maxrss / 1024, "rss_vmhwm_mib": peak[0] / 1024,
              "cpu_tool_and_clients": usage.ru_utime + usage.ru_stime,
              "snapshot_mib": round(sum(p.stat().st_size for p in files if p.is_file()) / 1048576, 1)}
    with contextlib.suppress(ValueError, OSError, KeyError, TypeError):
        result["tool_json"] = json.loads(out.read_text())
        steps = result["tool_json"]["run"]["steps"]
        result["steps"] = result["tool_json"]["run"]["seconds"]
        result["access_log_rebuild"] = sum(o["seconds"] for s in steps for o in s["operations"]
                                           if o["name"].startswith("access_log: rebuild"))
    return result


def measure_floor(server: LocalServer, work: pathlib.Path) -> dict:
    dump_bin = find_binary(["mariadb-dump", "mysqldump"])
    if not dump_bin:
        raise SystemExit("mariadb-dump not found: apt-get install mariadb-client")
    t0 = time.perf_counter()
    with open(work / "floor.sql", "wb") as fh:
        subprocess.run([dump_bin, "--no-defaults", f"--socket={server.socket}", "--user=root",
                        "--single-transaction", "--quick", DB], stdout=fh, check=True)
    out = {"dump": time.perf_counter() - t0, "dump_mib": round((work / "floor.sql").stat().st_size / 1048576, 1)}
    with connect(server.settings(DB)) as db:
        for table in FLOOR_TABLES:
            t0 = time.perf_counter()
            db.execute(f"ALTER TABLE {q(table)} FORCE")
            out[f"FORCE {table}"] = time.perf_counter() - t0
    out["force"] = sum(v for k, v in out.items() if k.startswith("FORCE "))
    out["total"] = out["dump"] + out["force"]
    return out


def measure_harbor(server: LocalServer, work: pathlib.Path) -> dict:  # noqa: ARG001
    with connect(server.settings(DB)) as db:
        t0 = time.perf_counter()
        revisions = run_chain(db)
        wall = time.perf_counter() - t0
        version = db.scalar("SELECT version_num FROM alembic_version")
    if version != "1.5.0":
        raise RuntimeError(f"Harbor's chain ended at {version!r}")
    return {"total": wall, "revisions": {r: sum(t.values()) for r, t in revisions.items()}, "items": revisions}


MEASURE = {"window": measure_window, "floor": measure_floor, "harbor": measure_harbor}


def _window_of(per: dict[str, list[dict]], kind: str) -> dict:
    w = per[kind]
    out = {"median": median([x["wall"] for x in w]), "runs": [x["wall"] for x in w],
           "rss_wait4_mib": max(x["rss_wait4_mib"] for x in w), "rss_vmhwm_mib": max(x["rss_vmhwm_mib"] for x in w),
           "snapshot_mib": w[-1]["snapshot_mib"], "tool_json_last": w[-1].get("tool_json")}
    if all("steps" in x for x in w):
        out["steps_median"] = median([x["steps"] for x in w])
        out["outside_steps_median"] = median([x["wall"] - x["steps"] for x in w])
        out["access_log_rebuild_median"] = median([x["access_log_rebuild"] for x in w])
    return out


def run(log_rows: int, runs: int, modes: list[str], warm_pool: bool, seed: int, buffer_pool: str,
        skip: set[str], say=print, baseline: pathlib.Path | None = None) -> dict:
    result: dict = {"log_rows": log_rows, "seed": seed, "runs": runs, "cache": "warm" if warm_pool else "cold",
                    "machine": machine(), "loadavg_start": os.getloadavg(), "modes": {}}
    kinds = [k for k in KINDS if k not in skip and (k != "baseline" or baseline is not None)]
    measure = dict(MEASURE, baseline=lambda server, work: measure_window(server, work, root=baseline))
    if baseline is not None:
        result["baseline"] = str(baseline)
    with tempfile.TemporaryDirectory(prefix="hm-bench-window-") as top:
        template = pathlib.Path(top) / "template"
        result["data"] = make_template(log_rows, seed, buffer_pool, template, say)
        for mode in modes:
            per: dict[str, list[dict]] = {k: [] for k in kinds}
            loads, prep = [], []
            for i in range(runs):
                order = kinds[i % len(kinds):] + kinds[:i % len(kinds)]
                line = []
                for kind in order:
                    work = pathlib.Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=top))
                    try:
                        with _server_from(template, _options(buffer_pool, mode)) as server:
                            if "facts" not in result.setdefault("server", {}).setdefault(mode, {}):
                                result["server"][mode]["facts"] = server_facts(server)
                            if warm_pool:
                                prep.append(warm(server, DB))
                            loads.append(os.getloadavg()[0])
                            m = measure[kind](server, work)
                            per[kind].append(m)
                    finally:
                        shutil.rmtree(work, ignore_errors=True)
                    value = m["wall"] if kind in ("window", "baseline") else m["total"]
                    line.append(f"{kind} {value:.2f}s")
                say(f"   {mode} run {i + 1} ({' -> '.join(order)}): {', '.join(line)}  (load {loads[-1]:.1f})")
            result["modes"][mode] = _summary(per, loads, prep)
    result["loadavg_end"] = os.getloadavg()
    return result


def _summary(per: dict[str, list[dict]], loads: list[float], prep: list[float]) -> dict:
    out: dict = {"loadavg_1min": {"min": min(loads), "max": max(loads)} if loads else {}}
    if prep:
        out["warm_seconds_median"] = median(prep)
    for kind in ("window", "baseline"):
        if per.get(kind):
            out[kind] = _window_of(per, kind)
    if per.get("floor"):
        f = per["floor"]
        out["floor"] = {"median": median([x["total"] for x in f]), "runs": [x["total"] for x in f],
                        "dump_median": median([x["dump"] for x in f]), "force_median": median([x["force"] for x in f]),
                        "force_access_log_median": median([x["FORCE access_log"] for x in f]),
                        "dump_mib": f[-1]["dump_mib"]}
    if per.get("harbor"):
        h = per["harbor"]
        revs = list(h[0]["revisions"])
        out["harbor"] = {"median": median([x["total"] for x in h]), "runs": [x["total"] for x in h],
                         "revisions": {r: median([x["revisions"][r] for x in h]) for r in revs},
                         "items_1_2_0": {k: median([x["items"]["1.2.0"][k] for x in h])
                                         for k in h[0]["items"]["1.2.0"]}}
    if "window" in out and "floor" in out:
        out["window_over_floor"] = out["window"]["median"] / out["floor"]["median"]
    if "window" in out and "baseline" in out:
        out["window_over_baseline"] = out["window"]["median"] / out["baseline"]["median"]
    if "window" in out and "harbor" in out:
        out["harbor_over_window"] = out["harbor"]["median"] / out["window"]["median"]
    return out


def report(result: dict, say=print) -> None:
    d = result["data"]
    say(f"\n== the window, {d['rows']['access_log']:,} access_log rows / {d['rows']['user']:,} users, "
        f"{result['cache']} server, medians of {result['runs']}")
    for mode, m in result["modes"].items():
        say(f"-- mode {mode} (load {m['loadavg_1min'].get('min', 0):.1f}-{m['loadavg_1min'].get('max', 0):.1f})")
        if "window" in m:
            w = m["window"]
            say(f"   window (upgrade --to 1.5.2, snapshot included) {w['median']:7.2f}s  runs "
                f"{', '.join(f'{x:.2f}' for x in w['runs'])}; peak RSS {w['rss_vmhwm_mib']:.1f} MiB (VmHWM), "
                f"{w['rss_wait4_mib']:.1f} MiB (wait4); snapshot {w['snapshot_mib']} MiB")
            if "steps_median" in w:
                say(f"      of which the chain's steps {w['steps_median']:.2f}s (access_log rebuild "
                    f"{w['access_log_rebuild_median']:.2f}s), outside them (snapshot, checks, start-up) "
                    f"{w['outside_steps_median']:.2f}s")
        if "baseline" in m:
            b = m["baseline"]
            say(f"   baseline window ({result['baseline']})  {b['median']:7.2f}s  runs "
                f"{', '.join(f'{x:.2f}' for x in b['runs'])}; peak RSS {b['rss_vmhwm_mib']:.1f} MiB (VmHWM)"
                + (f"; outside the steps {b['outside_steps_median']:.2f}s" if "outside_steps_median" in b else ""))
            say(f"   window / baseline   {m['window_over_baseline']:.2f}x")
        if "floor" in m:
            f = m["floor"]
            say(f"   floor (dump + FORCE x{len(FLOOR_TABLES)})            {f['median']:7.2f}s  runs "
                f"{', '.join(f'{x:.2f}' for x in f['runs'])}; dump {f['dump_median']:.2f}s ({f['dump_mib']} MiB), "
                f"FORCE {f['force_median']:.2f}s (access_log {f['force_access_log_median']:.2f}s)")
        if "harbor" in m:
            h = m["harbor"]
            say(f"   Harbor's chain (0.4.0 -> 1.5.0, no backup)       {h['median']:7.2f}s  runs "
                f"{', '.join(f'{x:.2f}' for x in h['runs'])}; "
                + ", ".join(f"{r} {s:.2f}s" for r, s in h["revisions"].items()))
        if "window_over_floor" in m:
            say(f"   window / floor   {m['window_over_floor']:.2f}x   (goal <= 1.5x)")
        if "harbor_over_window" in m:
            say(f"   harbor / window  {m['harbor_over_window']:.2f}x   (goal >= 8x)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--log-rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--modes", default="default", help="comma list of: default, copy")
    p.add_argument("--warm", action="store_true", help="read every table once before each measurement")
    p.add_argument("--skip", default="", help="comma list of measurements to leave out: window, floor, harbor")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--buffer-pool", default=DEFAULT_BUFFER_POOL)
    p.add_argument("--json", help="write the result here")
    p.add_argument("--baseline", type=pathlib.Path, help="a checkout of another commit: its window side by side")
    args = p.parse_args(argv)
    terminate_on_sigterm()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    for m in modes:
        if m not in MODES:
            p.error(f"unknown mode {m!r}: use default, copy")
    if skip - set(KINDS) or not set(KINDS) - skip:
        p.error("--skip takes some of: window, floor, harbor, baseline")
    if args.baseline is not None and not (args.baseline / "migrator" / "__main__.py").is_file():
        p.error(f"--baseline {args.baseline}: no migrator package there (a checkout: git worktree add DIR COMMIT)")
    result = run(args.log_rows, args.runs, modes, args.warm, args.seed, args.buffer_pool, skip,
                 baseline=args.baseline.resolve() if args.baseline else None)
    result["command"] = " ".join(["python3", "bench/bench_window.py", *(argv if argv is not None else sys.argv[1:])])
    report(result)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(result, fh, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
