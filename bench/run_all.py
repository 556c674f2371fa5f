"""Every benchmark, one command; a markdown summary at the end.

    python bench/run_all.py            # upgrade at 1M and 2M access_log rows (both modes), snapshot at 1M
    python bench/run_all.py --quick    # the same at 50k/100k rows: a couple of minutes

Needs MariaDB's server and client binaries (``apt-get install -y mariadb-server
mariadb-client``) and the package's dependencies (``pip install -e .``). Each benchmark
runs in its own process with a time limit; on overrun it gets SIGTERM, which stops its
throwaway server and removes its temporary directories. Results: ``--out`` (default
``bench/results``) gets ``upgrade.json``, ``snapshot.json`` and ``summary.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.common import machine  # noqa: E402
from migrator.tools.local_server import find_binary  # noqa: E402


def _run(cmd: list[str], timeout: float) -> int:
    print("$ " + " ".join(cmd[1:]), flush=True)
    proc = subprocess.Popen(cmd)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"!! over its {timeout:.0f}s limit: stopping it (its server and temp dirs are removed)", flush=True)
        proc.terminate()
        try:
            return proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
    except BaseException:
        proc.terminate()
        proc.wait()
        raise


def markdown(upgrade: list[dict] | None, snapshot: dict | None) -> str:
    out: list[str] = []
    some = (upgrade or [None])[0] or snapshot
    if some:
        m, s = some["machine"], some["server"]
        out.append(f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}, "
                   f"Python {m['python']}; server {s['version']}, buffer pool {s['innodb_buffer_pool_size']}, "
                   f"redo log {s['innodb_log_file_size']}, flush_log_at_trx_commit={s['innodb_flush_log_at_trx_commit']}.\n")
    if upgrade:
        out.append("| access_log rows | mode | floor (FORCE, summed) | upgrade | ratio | 1.2.0 step | Harbor-style 1.2.0 "
                   "access_log | peak RSS |")
        out.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in upgrade:
            for mode, x in r["modes"].items():
                h = x.get("harbor_120", {}).get("median")
                out.append(f"| {r['log_rows']:,} ({r['tables']['access_log']['mib']} MiB) | {mode} | "
                           f"{x['floor']['median']:.2f} s | {x['upgrade']['median']:.2f} s | {x['ratio']:.2f}× | "
                           f"{x['upgrade']['steps'].get('1.2.0', float('nan')):.2f} s | "
                           + (f"{h:.2f} s" if h is not None else "–") + f" | {r['peak_rss_mib']} MiB |")
        out.append("")
        for r in upgrade:
            for mode, x in r["modes"].items():
                ops = sorted(x["upgrade"]["ops"].items(), key=lambda kv: -kv[1])[:6]
                wall, steps = x["upgrade"]["median"], x["upgrade"]["steps_sum_median"]
                out.append(f"- {r['log_rows']:,} rows, {mode}: runs {', '.join(f'{v:.2f}' for v in x['upgrade']['runs'])} s; "
                           f"outside the steps (status before/after, checks, lock) {wall - steps:.2f} s; slowest "
                           "operations: " + "; ".join(f"{k} {v:.2f} s" for k, v in ops)
                           + f"; floor per table: " + ", ".join(f"{k} {v:.2f}" for k, v in x["floor"]["per_table"].items()
                                                               if v >= 0.05)
                           + f"; rebuilt: {', '.join(x['upgrade']['rebuilt'])}")
        out.append("")
    if snapshot:
        t, b = snapshot["times"], snapshot["bytes"]
        out.append(f"Snapshot and restore, {snapshot['log_rows']:,} access_log rows ({snapshot['database_mib']} MiB in "
                   f"InnoDB), medians of {snapshot['runs']}:\n")
        out.append("| operation | median | runs | file |")
        out.append("| --- | ---: | --- | ---: |")
        for name, v in t.items():
            size = f"{b[name] / 1048576:.0f} MiB" if name in b else ""
            out.append(f"| `{name.replace('|', chr(92) + '|')}` | {v['median']:.2f} s | {', '.join(f'{x:.2f}' for x in v['runs'])} | {size} |")
        out.append(f"\nPeak RSS: {snapshot['peak_rss_after_snapshots_mib']} MiB after the snapshots, "
                   f"{snapshot['peak_rss_mib']} MiB after the restores.")
        for name, c in snapshot.get("cpu_seconds", {}).items():
            out.append(f"CPU seconds of `{name}` (medians): this process {c['ours']:.2f}, clients {c['clients']:.2f}, "
                       f"server {c['server']:.2f}.")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Run every benchmark and summarise them.")
    p.add_argument("--quick", action="store_true", help="small sizes (50k/100k rows): a smoke run")
    p.add_argument("--out", default=str(HERE / "results"))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--skip", default="", help="comma list: upgrade, snapshot")
    p.add_argument("--no-shapes", action="store_true", help="skip the other statement shapes of the access_log copy")
    args = p.parse_args(argv)
    missing = [b for b in ("mariadbd", "mariadb-dump", "mariadb") if not find_binary([b])]
    if missing:
        print(f"missing {', '.join(missing)}: apt-get install -y mariadb-server mariadb-client", file=sys.stderr)
        return 2
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sizes = ["50000", "100000"] if args.quick else ["1000000", "2000000"]
    snap_rows = "100000" if args.quick else "1000000"
    upgrade_limit, snapshot_limit = (1200, 600) if args.quick else (6000, 2400)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    print(f"machine: {machine()}", flush=True)
    t0 = time.monotonic()
    py = sys.executable
    rc = 0
    upgrade = snapshot = None
    if "upgrade" not in skip:
        path = out / ("upgrade-quick.json" if args.quick else "upgrade.json")
        rc |= _run([py, str(HERE / "bench_upgrade.py"), "--log-rows", *sizes, "--runs", str(args.runs),
                    "--harbor-runs", str(args.runs), "--max-seconds", str(upgrade_limit - 120), "--json", str(path)]
                   + ([] if args.no_shapes else ["--shapes"]),
                   upgrade_limit)
        if path.exists():
            upgrade = json.loads(path.read_text(encoding="utf-8"))
    if "snapshot" not in skip:
        path = out / ("snapshot-quick.json" if args.quick else "snapshot.json")
        rc |= _run([py, str(HERE / "bench_snapshot.py"), "--log-rows", snap_rows, "--runs", str(args.runs),
                    "--json", str(path)], snapshot_limit)
        if path.exists():
            snapshot = json.loads(path.read_text(encoding="utf-8"))
    summary = markdown(upgrade, snapshot)
    (out / ("summary-quick.md" if args.quick else "summary.md")).write_text(summary, encoding="utf-8")
    print("\n" + summary)
    print(f"all benchmarks: {time.monotonic() - t0:.0f}s; results in {out}")
    return 1 if rc else 0


if __name__ == "__main__":
    sys.exit(main())
