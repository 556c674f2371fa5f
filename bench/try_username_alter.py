"""Issue 17, avenue 2 by hand: can InnoDB's own rebuild compute access_log.username?

    python bench/try_username_alter.py --log-rows 1000000 --runs 2 [--only rebuild force …]

On a throwaway MariaDB, one generated 0.5.0 database; then, each on a fresh copy (read once
into the buffer pool, InnoDB settled), order rotating from run to run:

- ``rebuild``: the tool's RebuildAccessLog statements (bench_upgrade's "as now" shape: new
  table, ``INSERT … SELECT … LEFT JOIN user``, index in place, swap);
- ``rebuild_elt``: the same, the names from an ``ELT(user_id, names…)`` of literals instead
  of the join;
- ``rebuild_memory_join``: the same, joined to a copy of ``user`` in a MEMORY temporary table
  (hash index) instead of ``user`` itself;
- ``rebuild_subquery``: the same, the names from a scalar subquery on ``user``;
- ``force``: ``ALTER TABLE access_log FORCE``;
- ``virtual``: drop the two foreign keys; ``ADD COLUMN username … AS (ELT(user_id, names…))
  VIRTUAL AFTER log_id`` (instant); then one ``MODIFY username varchar(255) NOT NULL, DROP
  COLUMN user_id, DROP INDEX user_id`` that materialises the names in a table copy;
- ``persistent``: the same with a ``PERSISTENT`` column (a copy), then ``MODIFY`` to a plain
  column (a copy) and ``DROP COLUMN user_id`` (instant);
- ``instant_update``: ``username`` added instantly with ``DEFAULT ''``, filled by one
  ``UPDATE … SET username = ELT(user_id, names…), op_time = op_time``, then the default and
  ``user_id`` dropped (both metadata only);
- ``default_inplace`` / ``default_one`` / ``default_copy``: ``username`` added with the names
  as its ``DEFAULT (ELT(user_id, …))`` expression, asked in place, together with ``DROP COLUMN
  user_id``, and as the server chooses; then ``DROP DEFAULT`` and ``user_id`` dropped.

The names come from ``user`` as string literals in the expression (``ELT`` over user_id,
``''`` for ids with no user). Each variant's result is checked against the join. Not
product code: the figures and what the server refuses go to docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

if __package__ in (None, ""):
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from bench.bench_upgrade import _JOIN, SHAPES  # noqa: E402
from bench.common import bench_server, clone_database, drop_database, median, settle, terminate_on_sigterm, warm  # noqa: E402
from bench.generate import generate  # noqa: E402
from migrator.mysql.connection import connect  # noqa: E402

TEMPLATE, DB = "bench_template", "registry"
REBUILD = SHAPES["as now: load, then ADD KEY + AUTO_INCREMENT in place"]
NAMES_TABLE = ("CREATE TEMPORARY TABLE hm_names (user_id int NOT NULL, username varchar(255), "
               "PRIMARY KEY USING HASH (user_id)) ENGINE=MEMORY SELECT user_id, username FROM user")
FKS = "ALTER TABLE access_log DROP FOREIGN KEY access_log_ibfk_1, DROP FOREIGN KEY access_log_ibfk_2"


def _lit(s: str) -> str:
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def names_expr(db) -> str:
    users = dict(db.query("SELECT user_id, username FROM user"))
    top = max(users)
    return "ELT(user_id, " + ", ".join(_lit(users.get(i) or "") for i in range(1, top + 1)) + ")"


def variants(expr: str) -> dict[str, list[str]]:
    return {
        "rebuild": list(REBUILD),
        "rebuild_elt": [sql.replace("COALESCE(u.username, '')", f"COALESCE({expr}, '')").replace(_JOIN, "")
                        for sql in REBUILD],
        "rebuild_subquery": [sql.replace("COALESCE(u.username, '')",
                                         "COALESCE((SELECT u.username FROM user u WHERE u.user_id = a.user_id), '')")
                             .replace(_JOIN, "") for sql in REBUILD],
        "rebuild_memory_join": [x for sql in REBUILD for x in (
            [NAMES_TABLE, sql.replace("LEFT JOIN user u", "LEFT JOIN hm_names u")] if _JOIN in sql else [sql])],
        "force": ["ALTER TABLE access_log FORCE"],
        "virtual": [FKS, f"ALTER TABLE access_log ADD COLUMN username varchar(255) AS (COALESCE({expr}, '')) "
                         "VIRTUAL AFTER log_id, ALGORITHM=INSTANT",
                    "ALTER TABLE access_log MODIFY username varchar(255) NOT NULL, DROP INDEX user_id, "
                    "DROP COLUMN user_id"],
        "persistent": [FKS, f"ALTER TABLE access_log ADD COLUMN username varchar(255) AS (COALESCE({expr}, '')) "
                            "PERSISTENT AFTER log_id",
                       "ALTER TABLE access_log MODIFY username varchar(255) NOT NULL",
                       "ALTER TABLE access_log DROP INDEX user_id, DROP COLUMN user_id"],
        "instant_update": [FKS, "ALTER TABLE access_log ADD COLUMN username varchar(255) NOT NULL DEFAULT '' "
                                "AFTER log_id, ALGORITHM=INSTANT",
                           f"UPDATE access_log SET username = COALESCE({expr}, ''), op_time = op_time",
                           "ALTER TABLE access_log ALTER COLUMN username DROP DEFAULT",
                           "ALTER TABLE access_log DROP INDEX user_id",
                           "ALTER TABLE access_log DROP COLUMN user_id"],
        "default_inplace": [FKS, f"ALTER TABLE access_log ADD COLUMN username varchar(255) NOT NULL "
                                 f"DEFAULT (COALESCE({expr}, '')) AFTER log_id, ALGORITHM=INPLACE",
                            "ALTER TABLE access_log ALTER COLUMN username DROP DEFAULT",
                            "ALTER TABLE access_log DROP INDEX user_id",
                            "ALTER TABLE access_log DROP COLUMN user_id"],
        "default_one": [FKS, f"ALTER TABLE access_log ADD COLUMN username varchar(255) NOT NULL "
                             f"DEFAULT (COALESCE({expr}, '')) AFTER log_id, DROP INDEX user_id, DROP COLUMN user_id",
                        "ALTER TABLE access_log ALTER COLUMN username DROP DEFAULT"],
        "default_copy": [FKS, f"ALTER TABLE access_log ADD COLUMN username varchar(255) NOT NULL "
                              f"DEFAULT (COALESCE({expr}, '')) AFTER log_id",
                         "ALTER TABLE access_log ALTER COLUMN username DROP DEFAULT",
                         "ALTER TABLE access_log DROP INDEX user_id, DROP COLUMN user_id"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--log-rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--users", type=int, help="override the generator's user count")
    p.add_argument("--only", nargs="+", help="run only these variants")
    args = p.parse_args(argv)
    terminate_on_sigterm()
    with bench_server() as server:
        server.create_database(TEMPLATE)
        generate(server.settings(TEMPLATE), args.log_rows, 1, users=args.users)
        with connect(server.settings(TEMPLATE)) as db:
            expr = names_expr(db)
            ref = db.scalar("SELECT SUM(CRC32(CONCAT(a.log_id, ':', COALESCE(u.username, '')))) "
                            "FROM access_log a LEFT JOIN user u ON u.user_id = a.user_id")
            nusers = db.scalar("SELECT COUNT(*) FROM user")
        print(f"{args.log_rows:,} rows, {nusers} users; ELT expression {len(expr.encode()):,} bytes")
        times: dict[str, list[float]] = {}
        steps: dict[str, list[list[float]]] = {}
        names = args.only or list(variants(expr))
        for i in range(args.runs):
            for name in names[i % len(names):] + names[:i % len(names)]:
                drop_database(server, DB)
                clone_database(server, TEMPLATE, DB)
                warm(server, DB)
                settle(server)
                with connect(server.settings(DB)) as db:
                    auto = db.scalar("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                                     "AND TABLE_NAME = 'access_log'", (DB,))
                    each: list[float] = []
                    try:
                        for sql in variants(expr)[name]:
                            t0 = time.perf_counter()
                            db.execute(sql.replace("{auto_increment}", str(int(auto))))
                            each.append(time.perf_counter() - t0)
                    except Exception as exc:  # noqa: BLE001 - what the server refuses is the finding
                        print(f"   {name}: statement {len(each) + 1} refused: {str(exc)[:200]}")
                        continue
                    if name != "force":
                        got = db.scalar("SELECT SUM(CRC32(CONCAT(log_id, ':', username))) FROM access_log")
                        if got != ref:
                            print(f"   {name}: names DIFFER from the join")
                times.setdefault(name, []).append(sum(each))
                steps.setdefault(name, []).append(each)
                print(f"   run {i + 1} {name}: {sum(each):.2f}s ({', '.join(f'{x:.2f}' for x in each)})", flush=True)
        drop_database(server, DB)
    print("\nmedians:")
    for name, ts in times.items():
        print(f"   {name:10s} {median(ts):6.2f}s  runs {', '.join(f'{x:.2f}' for x in ts)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
