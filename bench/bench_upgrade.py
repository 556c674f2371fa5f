"""The upgrade 0.4.0 -> 1.5.0 against the floor: what the server needs to rewrite the same tables.

    python bench/bench_upgrade.py --log-rows 1000000 2000000 --runs 3

For each size, on a throwaway MariaDB (stock Harbor timestamp rules): generate one
Harbor 0.5.0 database (``bench/generate.py``) into a template, then, in each mode —

- ``default``: the server's own ALTER algorithms (instant/in-place where it can);
- ``copy``: ``SET SESSION alter_algorithm = 'COPY'`` for the upgrade
  (``UpgradeOptions(alter_algorithm='COPY')``) and for the floor alike, so every ALTER
  copies the table as MySQL 5.6/5.7 did for most changes —

and for each run (interleaved, so background noise hits all three alike), on a fresh
copy of the template, after InnoDB has settled:

- **floor**: one ``ALTER TABLE … FORCE`` of each table the upgrade rewrites
  (``FLOOR_TABLES``), summed;
- **upgrade**: ``api.upgrade(…)`` to 1.5.0, timed around the call (connection, status,
  checks, every step, the final status), with the per-step and per-operation seconds
  the executor reports;
- **harbor**: Harbor's own 1.2.0 access_log statements (add ``username`` last, fill it
  with a join UPDATE, drop ``user_id``), for reference.

Medians of the runs, the ratio upgrade/floor, the tables the upgrade actually rebuilt
(their ``.ibd`` file changed), and the peak RSS of the process that ran the upgrades
(each size runs in its own process, so the figure is per size). Everything is torn
down at the end, also on Ctrl-C or SIGTERM.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench.common import (DEFAULT_BUFFER_POOL, bench_server, clone_database, drop_database, machine,  # noqa: E402
                          median, peak_rss_mb, server_facts, settle, terminate_on_sigterm, warm)
from bench.generate import generate  # noqa: E402
from bench.harbor_chain import HARBOR_120_ACCESS_LOG  # noqa: E402
from migrator import api  # noqa: E402
from migrator.mysql.connection import connect, quote_ident as q  # noqa: E402
from migrator.chain.executor import UpgradeOptions  # noqa: E402
from migrator.safety.journal import Journal  # noqa: E402

# Every table the upgrade changes; the floor is one FORCE (a full rebuild) of each.
FLOOR_TABLES = ("access_log", "user", "project", "project_member", "repository", "replication_policy",
                "replication_target", "replication_job", "properties")

# Harbor's 1.2.0 on access_log (harbor-facts §2.5), the per-user UPDATEs as one join UPDATE.
HARBOR_120 = HARBOR_120_ACCESS_LOG
MODES = {"default": None, "copy": "COPY"}

# Other shapes of the access_log rewrite, timed on the same copies (--shapes): what the
# operation could cost. "as now" is what RebuildAccessLog runs (since b0e5b74); each other
# shape differs from it in one thing.
_NEW_TABLE = """CREATE TABLE access_log__b (
  log_id int NOT NULL AUTO_INCREMENT, username varchar(255) NOT NULL, project_id int NOT NULL,
  repo_name varchar(256) NULL DEFAULT NULL, repo_tag varchar(128) NULL DEFAULT NULL,
  GUID varchar(64) NULL DEFAULT NULL, operation varchar(20) NOT NULL,
  op_time timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (log_id){index}) ENGINE=InnoDB {auto}DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci"""
_COPY = ("INSERT INTO access_log__b (log_id, username, project_id, repo_name, repo_tag, GUID, operation, op_time) "
         "SELECT a.log_id, {username}, a.project_id, a.repo_name, a.repo_tag, a.GUID, a.operation, a.op_time "
         "FROM access_log a {join}ORDER BY a.log_id")
_JOIN = "LEFT JOIN user u ON u.user_id = a.user_id "
_SWAP = ("RENAME TABLE access_log TO access_log__o, access_log__b TO access_log", "DROP TABLE access_log__o")
_INDEX = ",\n  KEY pid_optime (project_id, op_time)"


def _shape(index_in_create: bool = False, join: bool = True, inplace: bool = True) -> tuple[str, ...]:
    """The copy of RebuildAccessLog: create, load (joined to user), index, swap."""
    statements = ["SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0",
                  _NEW_TABLE.format(index=_INDEX if index_in_create else "",
                                    auto="AUTO_INCREMENT={auto_increment} " if index_in_create else ""),
                  _COPY.format(username="COALESCE(u.username, '')" if join else "''", join=_JOIN if join else "")]
    if not index_in_create:
        statements.append("ALTER TABLE access_log__b ADD KEY pid_optime (project_id, op_time), "
                          "AUTO_INCREMENT = {auto_increment}" + (", ALGORITHM=INPLACE" if inplace else ""))
    return tuple(statements) + _SWAP


SHAPES = {
    "FORCE (the floor's access_log part)": ("ALTER TABLE access_log FORCE",),
    "as now: load, then ADD KEY + AUTO_INCREMENT in place": _shape(),
    "before b0e5b74: the index ALTER without ALGORITHM": _shape(inplace=False),
    "index and AUTO_INCREMENT in CREATE, one load": _shape(index_in_create=True),
    "as now without the join (username '')": _shape(join=False),
    "index in CREATE without the join": _shape(index_in_create=True, join=False),
}
TEMPLATE, RUN_DB = "bench_template", "registry"


def _session_algorithm(db, algorithm: str | None) -> None:
    db.execute(f"SET SESSION alter_algorithm = '{algorithm}'" if algorithm else "SET SESSION alter_algorithm = DEFAULT")


def _fresh_copy(server) -> dict[str, float]:
    """A new copy of the template, read once into the buffer pool, with InnoDB idle."""
    drop_database(server, RUN_DB)
    clone = clone_database(server, TEMPLATE, RUN_DB)
    return {"clone": clone, "warm": warm(server, RUN_DB), "settle": settle(server)}


def _ibd_inodes(server, database: str) -> dict[str, int]:
    folder = server.datadir / database
    return {p.stem: p.stat().st_ino for p in folder.glob("*.ibd")}


def measure_floor(server, algorithm: str | None) -> dict[str, float]:
    """Seconds of one ``ALTER TABLE … FORCE`` per table, in this mode."""
    out: dict[str, float] = {}
    with connect(server.settings(RUN_DB)) as db:
        _session_algorithm(db, algorithm)
        for table in FLOOR_TABLES:
            t0 = time.perf_counter()
            db.execute(f"ALTER TABLE {q(table)} FORCE")
            out[table] = time.perf_counter() - t0
    return out


def measure_upgrade(server, algorithm: str | None, state_dir: str) -> dict:
    settings = server.settings(RUN_DB)
    before = _ibd_inodes(server, RUN_DB)
    lines: list[str] = []
    t0 = time.perf_counter()
    outcome = api.upgrade(settings, UpgradeOptions(target="1.5.0", alter_algorithm=algorithm),
                          progress=lines.append, journal=Journal(settings, directory=pathlib.Path(state_dir)))
    wall = time.perf_counter() - t0
    after = _ibd_inodes(server, RUN_DB)
    assert outcome.result is not None and outcome.after is not None
    if outcome.after.state != "clean" or outcome.after.declared != "1.5.0":
        raise RuntimeError(f"the upgrade did not end clean at 1.5.0: {outcome.after.message}")
    steps = {s.revision: s.seconds for s in outcome.result.steps}
    ops = {f"{s.revision} {o.name}": o.seconds for s in outcome.result.steps for o in s.ops if o.ran}
    return {"wall": wall, "steps_sum": outcome.result.seconds, "steps": steps, "ops": ops,
            "rebuilt": sorted(t for t in before if t in after and after[t] != before[t]),
            "created": sorted(t for t in after if t not in before)}


def measure_harbor(server, algorithm: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    with connect(server.settings(RUN_DB)) as db:
        _session_algorithm(db, algorithm)
        db.execute("SET SESSION max_statement_time = 1800")  # a bound, not a limit we expect to hit
        for label, sql in HARBOR_120:
            if label.startswith("UPDATE username = ''"):
                db.execute("START TRANSACTION")  # Harbor fills the column in one transaction
            t0 = time.perf_counter()
            db.execute(sql)
            if label == "join UPDATE username":
                db.execute("COMMIT")
            out[label] = time.perf_counter() - t0
    return out


def measure_shape(server, algorithm: str | None, statements: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    with connect(server.settings(RUN_DB)) as db:
        _session_algorithm(db, algorithm)
        auto = db.scalar("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                         "AND TABLE_NAME = 'access_log'", (RUN_DB,))
        for sql in statements:
            sql = sql.format(auto_increment=int(auto))
            t0 = time.perf_counter()
            db.execute(sql)
            out[sql.split("(")[0].split(" SELECT")[0][:48].strip()] = time.perf_counter() - t0
    return out


def _table_sizes(server, database: str) -> dict[str, dict[str, float]]:
    with connect(server.settings(database)) as db:
        rows = db.query("SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = %s", (database,))
        exact = {t: int(db.scalar(f"SELECT COUNT(*) FROM {q(t)}")) for t, _, _ in rows}
    return {t: {"rows": exact[t], "mib": round(int(b) / 1048576, 1)} for t, _, b in rows}


def _median_dict(dicts: list[dict[str, float]]) -> dict[str, float]:
    keys = list(dict.fromkeys(k for d in dicts for k in d))
    return {k: median([d[k] for d in dicts if k in d]) for k in keys}


def run_size(log_rows: int, runs: int, modes: list[str], harbor_runs: int, seed: int, buffer_pool: str,
             deadline: float, shapes: bool = False, server_options: dict[str, str] | None = None, say=print) -> dict:
    result: dict = {"log_rows": log_rows, "seed": seed, "runs": runs, "machine": machine(), "modes": {}}
    with bench_server(buffer_pool, server_options) as server, \
            tempfile.TemporaryDirectory(prefix="hm-bench-state-") as state:
        result["server"] = server_facts(server)
        server.create_database(TEMPLATE)
        g = generate(server.settings(TEMPLATE), log_rows, seed)
        result["generate_seconds"] = round(g.total_seconds, 2)
        result["tables"] = _table_sizes(server, TEMPLATE)
        say(f"== {log_rows:,} access_log rows (seed {seed}): generated in {g.total_seconds:.1f}s, "
            f"access_log {result['tables']['access_log']['mib']} MiB")
        rss_before = peak_rss_mb()
        for mode in modes:
            algorithm = MODES[mode]
            floors, upgrades, harbors, prep = [], [], [], []
            shape_runs: dict[str, list[dict[str, float]]] = {k: [] for k in SHAPES} if shapes else {}
            for i in range(runs):
                if time.monotonic() > deadline:
                    say(f"   time budget spent: stopping after {i} run(s) of mode {mode}")
                    break
                prep.append(_fresh_copy(server))
                floors.append(measure_floor(server, algorithm))
                prep.append(_fresh_copy(server))
                upgrades.append(measure_upgrade(server, algorithm, state))
                if i < harbor_runs:
                    prep.append(_fresh_copy(server))
                    harbors.append(measure_harbor(server, algorithm))
                for name, statements in SHAPES.items() if shapes else ():
                    prep.append(_fresh_copy(server))
                    shape_runs[name].append(measure_shape(server, algorithm, statements))
                say(f"   {mode} run {i + 1}: floor {sum(floors[-1].values()):.2f}s, upgrade "
                    f"{upgrades[-1]['wall']:.2f}s" + (f", harbor-style {sum(harbors[-1].values()):.2f}s"
                                                      if i < harbor_runs else "")
                    + f"  (load {os.getloadavg()[0]:.1f})")
            if not upgrades:
                continue
            floor_totals = [sum(f.values()) for f in floors]
            walls = [u["wall"] for u in upgrades]
            m = {
                "alter_algorithm": algorithm or "DEFAULT",
                "floor": {"median": median(floor_totals), "runs": floor_totals, "per_table": _median_dict(floors)},
                "upgrade": {"median": median(walls), "runs": walls,
                            "steps_sum_median": median([u["steps_sum"] for u in upgrades]),
                            "steps": _median_dict([u["steps"] for u in upgrades]),
                            "ops": _median_dict([u["ops"] for u in upgrades]),
                            "rebuilt": upgrades[-1]["rebuilt"], "created": upgrades[-1]["created"]},
                "prep_seconds_median": _median_dict(prep),
            }
            m["ratio"] = m["upgrade"]["median"] / m["floor"]["median"] if m["floor"]["median"] else float("nan")
            if harbors:
                totals = [sum(h.values()) for h in harbors]
                m["harbor_120"] = {"median": median(totals), "runs": totals, "statements": _median_dict(harbors)}
            if shape_runs:
                m["shapes"] = {name: {"median": median([sum(r.values()) for r in rs]),
                                      "runs": [sum(r.values()) for r in rs], "statements": _median_dict(rs)}
                               for name, rs in shape_runs.items() if rs}
            result["modes"][mode] = m
        result["peak_rss_mib"] = round(peak_rss_mb(), 1)
        result["rss_before_upgrades_mib"] = round(rss_before, 1)
        result["loadavg_end"] = os.getloadavg()
        drop_database(server, RUN_DB)
    return result


def report(result: dict, say=print) -> None:
    n = result["log_rows"]
    say(f"\n== upgrade 0.4.0 -> 1.5.0, {n:,} access_log rows "
        f"({result['tables']['access_log']['mib']} MiB), medians of {result['runs']} run(s)")
    for mode, m in result["modes"].items():
        up, fl = m["upgrade"], m["floor"]
        say(f"\n-- mode {mode} (alter_algorithm={m['alter_algorithm']})")
        say("  floor: ALTER TABLE … FORCE per table")
        for t, s in fl["per_table"].items():
            say(f"    {t:22s} {s:8.3f}s")
        say(f"    {'sum (floor)':22s} {fl['median']:8.3f}s   runs {', '.join(f'{x:.2f}' for x in fl['runs'])}")
        say("  upgrade: steps and operations")
        for rev, s in up["steps"].items():
            say(f"    step {rev:17s} {s:8.3f}s")
            for name, o in up["ops"].items():
                if name.startswith(rev + " ") and o >= 0.0005:
                    say(f"      {o:8.3f}s  {name[len(rev) + 1:]}")
        say(f"    {'steps (sum)':22s} {up['steps_sum_median']:8.3f}s")
        say(f"    {'upgrade (api wall)':22s} {up['median']:8.3f}s   runs {', '.join(f'{x:.2f}' for x in up['runs'])}")
        say(f"    rebuilt tables: {', '.join(up['rebuilt']) or '-'}")
        verdict = "meets 1.5x" if m["ratio"] <= 1.5 else ("meets 2x" if m["ratio"] <= 2 else "ABOVE 2x")
        say(f"  ratio upgrade/floor: {m['ratio']:.2f}  ({verdict})")
        if "harbor_120" in m:
            h = m["harbor_120"]
            say(f"  Harbor-style 1.2.0 on access_log: {h['median']:.2f}s  (ours, whole 1.2.0 step: "
                f"{up['steps'].get('1.2.0', float('nan')):.2f}s; whole upgrade {up['median']:.2f}s)")
            for label, s in h["statements"].items():
                say(f"      {s:8.3f}s  {label}")
        for name, x in m.get("shapes", {}).items():
            say(f"  shape {name}: {x['median']:.2f}s  (runs {', '.join(f'{v:.2f}' for v in x['runs'])})")
            for label, s in x["statements"].items():
                if s >= 0.01:
                    say(f"      {s:8.3f}s  {label}")
    say(f"\n  peak RSS of the upgrading process: {result['peak_rss_mib']} MiB "
        f"(before the first upgrade: {result['rss_before_upgrades_mib']} MiB)")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--log-rows", type=int, nargs="+", default=[1_000_000, 2_000_000])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--harbor-runs", type=int, default=3, help="runs of the Harbor-style 1.2.0 (0: skip)")
    p.add_argument("--modes", default="default,copy", help="comma list of: default, copy")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--buffer-pool", default=DEFAULT_BUFFER_POOL)
    p.add_argument("--max-seconds", type=float, default=3600, help="stop starting new runs after this long")
    p.add_argument("--server-option", action="append", default=[], metavar="NAME=VALUE",
                   help="extra mariadbd option, e.g. innodb-log-file-size=1G (repeatable)")
    p.add_argument("--shapes", action="store_true",
                   help="also time other statement shapes of the access_log rewrite (see SHAPES)")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--no-report", action="store_true", help=argparse.SUPPRESS)  # child of a multi-size run
    args = p.parse_args(argv)
    terminate_on_sigterm()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            p.error(f"unknown mode {m!r}: use default, copy")
    deadline = time.monotonic() + args.max_seconds
    server_options = dict(o.split("=", 1) for o in args.server_option)
    results = []
    if len(args.log_rows) == 1:
        results.append(run_size(args.log_rows[0], args.runs, modes, args.harbor_runs, args.seed, args.buffer_pool,
                                deadline, args.shapes, server_options))
    else:  # one process per size: the peak RSS is then that size's own
        for n in args.log_rows:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                print(f"time budget spent: skipping {n:,} rows")
                continue
            with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                cmd = [sys.executable, os.path.abspath(__file__), "--log-rows", str(n), "--runs", str(args.runs),
                       "--harbor-runs", str(args.harbor_runs), "--modes", args.modes, "--seed", str(args.seed),
                       "--buffer-pool", args.buffer_pool, "--max-seconds", str(remaining), "--json", tmp.name,
                       "--no-report"] + (["--shapes"] if args.shapes else []) \
                    + [f"--server-option={o}" for o in args.server_option]
                proc = subprocess.Popen(cmd)
                try:
                    rc = proc.wait()
                except BaseException:
                    proc.terminate()
                    proc.wait()
                    raise
                if rc != 0:
                    print(f"the {n:,}-row run failed (exit {rc})", file=sys.stderr)
                    return rc
                results.append(json.load(open(tmp.name, encoding="utf-8"))[0])
    for r in results if not args.no_report else []:
        report(r)
    if len(results) > 1:
        print("\n== summary (medians)")
        print(f"  {'rows':>10s} {'mode':8s} {'floor':>8s} {'upgrade':>8s} {'ratio':>6s} {'harbor-1.2.0':>13s} {'peak RSS':>9s}")
        for r in results:
            for mode, m in r["modes"].items():
                h = m.get("harbor_120", {}).get("median", float("nan"))
                print(f"  {r['log_rows']:>10,d} {mode:8s} {m['floor']['median']:7.2f}s {m['upgrade']['median']:7.2f}s "
                      f"{m['ratio']:6.2f} {h:12.2f}s {r['peak_rss_mib']:7.1f}MiB")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(results, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
