"""The DBA's runbook, rendered for one environment: its names, its plan, its timings.

Same structure as docs/runbook.md (before the window, during, after, rollback),
with the real host and database, the plan's steps and estimates (from the last
rehearsal when there is one), the snapshot directory and the exact commands.
"""
from __future__ import annotations

import shlex
from typing import Any

from ..settings import ConnectionSettings


def _cmd(verb: str, settings: ConnectionSettings, extra: str = "") -> str:
    return f"harbor-migrate {verb}{(' ' + extra) if extra else ''}"


def build(settings: ConnectionSettings, plan: Any, snapshot_dir: str, cfg: str | None = None,
          registry: str | None = None, harbor: str | None = None) -> dict[str, Any]:
    """The runbook as data (``--json``); ``markdown`` renders it."""
    env = [f"export HARBOR_MIGRATE_DSN={shlex.quote(settings.masked_dsn().replace(':***@', '@'))}",
           "export HARBOR_MIGRATE_PASSWORD_FILE=/root/.harbor-db-password   # chmod 600; never on the command line"]
    snap = shlex.quote(snapshot_dir)
    creds = "--harbor-user admin --harbor-password-file /root/.harbor-admin-password"
    verify_live = " ".join([
        f"--harbor {shlex.quote(harbor or 'https://HARBOR')} {creds}",
        f"--registry {shlex.quote(registry or harbor or 'https://HARBOR')} --registry-user admin "
        "--registry-password-file /root/.harbor-admin-password"])
    steps = [{"revision": s.revision, "summary": s.summary, "estimated_seconds": round(s.seconds, 2),
              "operations": [{"name": o.name, "rewrites": o.rewrites, "rows": o.rows,
                              "estimated_seconds": round(o.seconds, 2), "source": o.estimate_source} for o in s.ops]}
             for s in plan.steps]
    old_cfg = shlex.quote(cfg or "/path/to/harbor.cfg")
    # (what to do, the command, go / no-go)
    phases = {
        "before": [
            ("Rehearse on a copy (its timings feed the estimates below)", _cmd("rehearse", settings,
                                                                               f"--snapshot-dir {snap}"),
             "exit 0 and `verify: consistent`; the step timings fit the window"),
            ("Re-render this runbook with the rehearsal's timings", _cmd("runbook", settings,
                                                                         f"--snapshot-dir {snap}"),
             "estimates now say `(journal)`"),
            ("Read-only plan: checks and SQL reviewed", _cmd("plan", settings, "--to 1.5.2"),
             "exit 0: no `[fail]` line; every `[warn]` understood"),
            ("Keep the SQL for the change record", _cmd("plan", settings, "--sql > harbor-upgrade.sql"),
             "the file ends with the `1.5.0` stamp"),
            ("Convert harbor.cfg and check the 0.5.0 secretkey file",
             f"harbor-migrate cfg convert {old_cfg} -o harbor-1.5.2.cfg && harbor-migrate cfg check-key "
             "/data/secretkey", "both exit 0; the report lists no refused key and no undecodable password"),
        ],
        "during": [
            ("Stop Harbor 0.5 (every container that uses the database)", "docker-compose down",
             "`docker ps` shows none of Harbor's containers"),
            ("Pre-flight again now that Harbor is down", _cmd("plan", settings, "--to 1.5.2 --no-calibrate"),
             "exit 0; `other_clients` ok"),
            ("Upgrade (snapshot first; confirm when the summary is right)",
             _cmd("upgrade", settings, f"--to 1.5.2 --snapshot-dir {snap}"),
             "exit 0 and `no drift`; on any failure rerun the same command (it resumes), or roll back"),
            ("Verify the schema and the data against the snapshot",
             _cmd("verify", settings, f"--only schema --only data --snapshot {snap}/<snapshot>.manifest.json"),
             "exit 0: `consistent`; otherwise roll back"),
            ("If 0.5.0 ran with verify_remote_cert = off: mark every replication target insecure",
             f"harbor-migrate cfg apply-insecure {old_cfg}", "exit 0 (it changes nothing when the setting was on)"),
        ],
        "after": [
            ("Start Harbor 1.5.2 with the converted harbor.cfg", "./install.sh   # or docker-compose up -d",
             "the UI answers and the admin can log in"),
            ("Verify again through the running Harbor and its registry",
             _cmd("verify", settings, verify_live + " --report upgrade-report.md"),
             "exit 0; keep upgrade-report.md with the change record"),
        ],
        "rollback": [
            ("Stop Harbor 1.5.2", "docker-compose down", "no Harbor container runs"),
            ("Restore the pre-upgrade snapshot (replaces every table)",
             _cmd("restore", settings, f"{snap}/<snapshot>.manifest.json --force"),
             "`counts and checksums match`; `harbor-migrate status` says revision 0.4.0, clean"),
            ("Start Harbor 0.5 again", "docker-compose up -d", "the UI answers"),
        ],
    }
    return {
        "database": settings.masked_dsn(), "host": settings.unix_socket or f"{settings.host}:{settings.port}",
        "name": settings.database, "server": plan.server, "from": plan.start, "to": plan.target,
        "environment": env, "checks": [c.to_json() for c in plan.checks], "steps": steps,
        "estimate": {"upgrade_seconds": round(plan.seconds, 2), "snapshot_seconds": round(plan.snapshot_seconds, 2),
                     "downtime_seconds": round(plan.downtime_seconds, 2), "rates": plan.rates_source},
        "snapshot_dir": snapshot_dir,
        "phases": phases_json(phases),
    }


def markdown(book: dict[str, Any]) -> str:
    est = book["estimate"]
    lines = [f"# Runbook: Harbor 0.5 → 1.5.2 for `{book['name']}` on {book['host']}", "",
             f"Server: {book['server']}. Database: `{book['database']}`. Revision {book['from']} → {book['to']}.", "",
             f"Expected downtime: **{est['downtime_seconds']:.1f} s** (snapshot {est['snapshot_seconds']:.1f} s + "
             f"upgrade {est['upgrade_seconds']:.1f} s; estimates from {est['rates']}).", "",
             "Set the connection once per shell:", "", "```sh", *book["environment"], "```", "",
             "## Pre-flight (now)", ""]
    lines += check_and_step_lines(book["checks"], book["steps"])
    lines += phase_lines(book["phases"])
    return "\n".join(lines).rstrip() + "\n"


TITLES = {"before": "Before the window", "during": "During the window", "after": "After the window",
          "rollback": "Rollback (any time after the snapshot)"}


def check_and_step_lines(checks: list[dict[str, Any]], steps: list[dict[str, Any]]) -> list[str]:
    """The pre-flight list, then the table of the steps the upgrade will run (both runbooks)."""
    lines = [f"- `{c['status']}` **{c['name']}**: {c['message']}" for c in checks]
    lines += ["", "## Steps the upgrade will run", "", "| step | operation | rows | rewrites | estimate |",
              "| --- | --- | --- | --- | --- |"]
    for s in steps:
        for o in s["operations"]:
            lines.append(f"| {s['revision']} | {o['name']} | {o['rows']} | {'yes' if o['rewrites'] else 'no'} | "
                         f"{o['estimated_seconds']:.2f} s ({o['source']}) |")
    return lines


def phases_json(phases: dict[str, list[tuple[str, str, str]]]) -> dict[str, list[dict[str, str]]]:
    return {k: [{"do": what, "run": cmd, "go_no_go": go} for what, cmd, go in v] for k, v in phases.items()}


def phase_lines(phases: dict[str, list[dict[str, str]]], titles: dict[str, str] = TITLES) -> list[str]:
    """Each phase as a heading and numbered items: what to do, the command, go / no-go."""
    lines: list[str] = []
    for phase, items in phases.items():
        lines += ["", f"## {titles[phase]}", ""]
        for i, item in enumerate(items, 1):
            lines += [f"{i}. {item['do']}", "", "   ```sh", f"   {item['run']}", "   ```", "",
                      f"   Go / no-go: {item['go_no_go']}.", ""]
    return lines
