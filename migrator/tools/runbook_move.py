"""The DBA's runbook for the 1.6.0 path, rendered for one environment: the MySQL chain to 1.5.0,
then the move into PostgreSQL.

Same shape as ``runbook`` (before the window, during, after, rollback), with both sides' names
(the target's password masked), both sides' pre-flight, the chain's steps, the move's tables
and the estimate. Rollback needs no restore of the MySQL side: the move never writes it.
"""
from __future__ import annotations

import re
import shlex
from typing import Any

from ..postgres.settings import PgSettings
from ..settings import ConnectionSettings
from .runbook import check_and_step_lines, phase_lines, phases_json

TITLES = {"before": "Before the window", "during": "During the window", "after": "After the window",
          "rollback": "Rollback (any time: the move never writes the MySQL database)"}


def _psql(target: PgSettings, sql: str, database: str = "postgres") -> str:
    """A psql command as the PostgreSQL superuser on the target's server (the DBA's own login). The SQL in
    double quotes: it holds single-quoted literals and no ``"``, ``$`` or backquote."""
    host = f"-h {shlex.quote(target.host)} -p {target.port} " if target.host else ""
    return f'psql {host}-U postgres -d {database} -c "{sql}"'


def _ident(name: str) -> str:
    """An SQL identifier inside ``_psql``'s double-quoted shell argument: bare when plain, else quoted."""
    if re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        return name
    return '\\"' + re.sub(r'(["$`\\])', r"\\\1", name.replace('"', '""')) + '\\"'


def build_move(settings: ConnectionSettings, target: PgSettings, plan: Any, snapshot_dir: str, *,
               cfg: str | None = None, registry: str | None = None, harbor: str | None = None) -> dict[str, Any]:
    """The 1.6.0 runbook as data (``--json``); ``markdown_move`` renders it. ``plan`` is an ``api.MovePlan``."""
    chain = plan.chain
    shown = target.masked_dsn().replace(":***@", "@")
    env = [f"export HARBOR_MIGRATE_DSN={shlex.quote(settings.masked_dsn().replace(':***@', '@'))}",
           "export HARBOR_MIGRATE_PASSWORD_FILE=/root/.harbor-db-password   # chmod 600; never on the command line",
           f"export HARBOR_MIGRATE_TARGET_DSN={shlex.quote(shown)}",
           "export HARBOR_MIGRATE_TARGET_PASSWORD_FILE=/root/.harbor-pg-password   # chmod 600"]
    snap = shlex.quote(snapshot_dir)
    old_cfg = shlex.quote(cfg or "/path/to/harbor.cfg")
    role, db = _ident(target.user or "harbor"), _ident(target.database or "registry")
    manifest = f"{snap}/<snapshot>.manifest.json"
    ui = harbor or "https://HARBOR"
    phases = {
        "before": [
            (f"PostgreSQL: Harbor's account with an md5 password (Harbor 1.6.0's lib/pq cannot do SCRAM) and an "
             f"empty UTF8 database it owns; pg_hba.conf lets Harbor's hosts in with md5",
             " && ".join([_psql(target, "SET password_encryption = 'md5'; "
                                        f"CREATE ROLE {role} LOGIN PASSWORD '<password>'"),
                          _psql(target, f"CREATE DATABASE {db} OWNER {role} ENCODING 'UTF8' TEMPLATE template0")]),
             f"`SELECT rolpassword LIKE 'md5%' FROM pg_authid WHERE rolname = '{target.user or 'harbor'}'` is true"),
            ("Rehearse the whole path on throwaway copies (MariaDB and PostgreSQL), with real timings",
             f"harbor-migrate rehearse --to 1.6.0 --snapshot-dir {snap}",
             "exit 0, both verifications `consistent`; the chain and the move fit the window"),
            ("Read-only plan of both sides: checks, rows 1.6.0 cannot hold, steps, the move's tables",
             "harbor-migrate plan --to 1.6.0", "exit 0: no `[fail]` line; `target_empty` ok; every `[warn]` understood"),
            ("Convert harbor.cfg to 1.6.0 (its db_* keys now name the PostgreSQL database) and check the secretkey",
             f"harbor-migrate cfg convert {old_cfg} --to 1.6.0 -o harbor-1.6.0.cfg && harbor-migrate cfg check-key "
             "/data/secretkey", "both exit 0; db_host, db_port, db_user, db_password name the target"),
        ],
        "during": [
            ("Stop Harbor 0.5 (every container that uses the database)", "docker-compose down",
             "`docker ps` shows none of Harbor's containers"),
            ("Pre-flight again now that Harbor is down", "harbor-migrate plan --to 1.6.0 --no-calibrate",
             "exit 0; `other_clients` ok"),
            ("The MySQL chain to 1.5.0, snapshot first", f"harbor-migrate upgrade --to 1.5.2 --snapshot-dir {snap}",
             "exit 0 and `no drift`; on any failure rerun the same command (it resumes), or roll back"),
            ("If 0.5.0 ran with verify_remote_cert = off: mark every replication target insecure (before the move, "
             "which copies them)", f"harbor-migrate cfg apply-insecure {old_cfg}",
             "exit 0 (it changes nothing when the setting was on)"),
            ("The move into PostgreSQL (the chain is done: this only moves; the MySQL side is only read)",
             f"harbor-migrate upgrade --to 1.6.0 --snapshot-dir {snap}",
             "exit 0 and `Harbor 1.6.0`; on any failure rerun the same command (finished tables are kept)"),
            ("Verify the PostgreSQL side: schema against a fresh 1.6.0, every row against the MySQL source",
             "harbor-migrate verify --target-dsn \"$HARBOR_MIGRATE_TARGET_DSN\"", "exit 0: `consistent`"),
            ("Verify the MySQL side against the snapshot", f"harbor-migrate verify --only schema --only data "
             f"--snapshot {manifest}", "exit 0: `consistent`"),
        ],
        "after": [
            ("Install Harbor 1.6.0 with harbor-1.6.0.cfg (external PostgreSQL)", "./install.sh",
             f"{ui} answers and the admin can log in; later releases (1.7.0 on) migrate this database themselves"),
            ("Confirm the target's state", "harbor-migrate status --target-dsn \"$HARBOR_MIGRATE_TARGET_DSN\"",
             "`state: 1.6.0`, no drift"),
        ],
        "rollback": [
            ("Stop Harbor 1.6.0", "docker-compose down", "no Harbor container runs"),
            ("Point Harbor 1.5.2 back at the MySQL database (at 1.5.0, untouched by the move)",
             "harbor-migrate status && ./install.sh   # Harbor 1.5.2 with its harbor.cfg",
             "`revision 1.5.0`, clean; the UI answers. Everything written to PostgreSQL since is not there"),
            ("Or back to Harbor 0.5: restore the pre-upgrade snapshot (replaces every table)",
             f"harbor-migrate restore {manifest} --force",
             "`counts and checksums match`; `harbor-migrate status` says the first revision, clean"),
            ("Drop the PostgreSQL target (or keep it: upgrade --to 1.6.0 --force-target refills it)",
             _psql(target, f"DROP DATABASE {db}"), "exit 0"),
        ],
    }
    steps = [{"revision": s.revision, "summary": s.summary, "estimated_seconds": round(s.seconds, 2),
              "operations": [{"name": o.name, "rewrites": o.rewrites, "rows": o.rows,
                              "estimated_seconds": round(o.seconds, 2), "source": o.estimate_source} for o in s.ops]}
             for s in chain.steps]
    return {
        "to": "1.6.0", "database": settings.masked_dsn(),
        "host": settings.unix_socket or f"{settings.host}:{settings.port}", "name": settings.database,
        "server": chain.server, "from": chain.start, "chain_to": chain.target,
        "target": {"database": target.masked_dsn(), "server": plan.target.server, "state": plan.target.state,
                   "name": target.database},
        "environment": env, "checks": [c.to_json() for c in chain.checks],
        "move_checks": [c.to_json() for c in plan.checks], "steps": steps,
        "move": [{"table": t, "source": s, "rows": n} for t, s, n in plan.tables],
        "estimate": {"upgrade_seconds": round(chain.seconds, 2), "snapshot_seconds": round(chain.snapshot_seconds, 2),
                     "move_seconds": round(plan.move_seconds, 2), "downtime_seconds": round(plan.seconds, 2),
                     "rates": chain.rates_source},
        "snapshot_dir": snapshot_dir,
        "phases": phases_json(phases),
    }


def markdown_move(book: dict[str, Any]) -> str:
    est, target = book["estimate"], book["target"]
    lines = [f"# Runbook: Harbor 0.5 → 1.6.0 for `{book['name']}` on {book['host']}, moved into PostgreSQL", "",
             f"MySQL: {book['server']}. Database: `{book['database']}`. Revision {book['from']} → "
             f"{book['chain_to']}, then moved.", "",
             f"PostgreSQL target: `{target['database']}` ({target['server']}), now {target['state']}.", "",
             f"Expected downtime: **{est['downtime_seconds']:.1f} s** (snapshot {est['snapshot_seconds']:.1f} s + "
             f"upgrade {est['upgrade_seconds']:.1f} s + move {est['move_seconds']:.1f} s; estimates from "
             f"{est['rates']}).", "", "Set the connections once per shell:", "", "```sh", *book["environment"],
             "```", "", "## Pre-flight (now)", ""]
    lines += check_and_step_lines(book["checks"] + book["move_checks"], book["steps"])
    lines += ["", f"## The move into PostgreSQL (about {est['move_seconds']:.1f} s)", "",
              "| table | from | rows |", "| --- | --- | --- |"]
    lines += [f"| {m['table']} | {m['source']} | {m['rows']} |" for m in book["move"]]
    lines += phase_lines(book["phases"], TITLES)
    return "\n".join(lines).rstrip() + "\n"
