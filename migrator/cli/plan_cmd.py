"""``harbor-migrate plan``: read-only; pre-flight, the steps, their SQL and how long they take."""
from __future__ import annotations

import click

from .. import api
from ..errors import UsageError
from . import postgres_target
from .options import connection_options, json_option
from .render import echo_checks, emit_json, err


def _duration(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f} min"


@click.command("plan")
@connection_options
@click.option("--to", "target", default="1.5.2", show_default=True,
              help="Harbor version or revision id; 1.6.0 with --target-dsn (both sides' pre-flight, the move).")
@click.option("--from", "from_revision", help="Start revision when alembic_version is missing or wrong.")
@click.option("--sql", "as_sql", is_flag=True, help="Write the whole upgrade as one SQL script on stdout.")
@click.option("--snapshot-dir", default=".", show_default=True, type=click.Path(file_okay=False),
              help="Where the upgrade's snapshot will go (for the free-space check).")
@click.option("--no-snapshot", is_flag=True, help="Plan an upgrade without a snapshot (no space or LOCK TABLES needed).")
@click.option("--harbor-user", help="Harbor 1.5.2's database account (user@host), for the harbor_account check.")
@click.option("--skip-check", "skip_checks", multiple=True, help="Turn a failing check into a warning (by name).")
@click.option("--no-calibrate", is_flag=True, help="Do not time a scratch TEMPORARY table; use defaults.")
@postgres_target.target_options
@json_option
def plan(settings, target, from_revision, as_sql, snapshot_dir, no_snapshot, harbor_user, skip_checks, no_calibrate,
         pg_target, as_json) -> None:
    """Show what `upgrade` would do, step by step, without changing anything.

    The session is read-only. Prints the pre-flight checks, then each step: what
    it changes, which tables it rewrites, the exact SQL (real constraint names),
    the rows it touches and its estimated duration; then the expected downtime.
    Exits non-zero when a check fails.
    """
    if api.is_pg_target(api.resolve_target(target, postgres=True)):  # both sides' pre-flight, the chain, the move
        if as_sql:
            raise UsageError(f"--sql renders the MySQL chain only: use --to {api.HEAD}")
        return postgres_target.plan(settings, pg_target, as_json=as_json,
                                    from_revision=api.resolve_start(from_revision),
                                    snapshot_dir=None if no_snapshot else snapshot_dir, harbor_user=harbor_user,
                                    skip_checks=tuple(skip_checks), calibrate=not no_calibrate)
    if pg_target is not None:
        raise UsageError(f"--target-dsn is the PostgreSQL database of --to {api.PG_TARGET.id}")
    report = api.plan(settings, api.resolve_target(target), from_revision=api.resolve_start(from_revision),
                      snapshot_dir=None if no_snapshot else snapshot_dir,
                      harbor_user=harbor_user, skip_checks=tuple(skip_checks), calibrate=not no_calibrate)
    if as_json:
        emit_json(report.to_json())
    elif as_sql:
        err(f"plan: {report.database} {report.start} -> {report.target}")
        for c in report.checks:
            err(c.line())
        click.echo(f"-- harbor-migrate: upgrade of `{settings.database}` from {report.start} to {report.target}")
        click.echo("-- review, then run on a copy first: mysql DB < this.sql")
        click.echo("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';")
        click.echo("SET SESSION time_zone = '+00:00';")
        for s in report.steps:
            click.echo(f"\n-- step {s.revision}: {s.summary}")
            for o in s.ops:
                click.echo(f"-- {o.name}")
                for stmt in o.sql:
                    click.echo(stmt.rstrip(";") + ";")
    else:
        click.echo(f"{report.database}: {report.server}, revision {report.start} -> {report.target}")
        click.echo("\npre-flight:")
        echo_checks(report.checks)
        for s in report.steps:
            click.echo(f"\nstep {s.revision}: {s.summary} (about {_duration(s.seconds)})")
            for o in s.ops:
                what = "rewrites " + o.tables[0] if o.rewrites else ("copies " + o.tables[0] if o.kind == "copy"
                                                                    else "in place")
                click.echo(f"  - {o.name} [{what}; {o.rows} rows; ~{_duration(o.seconds)} ({o.estimate_source})]")
                for stmt in o.sql:
                    click.echo("      " + stmt.replace("\n", "\n      ") + ";")
        click.echo(f"\nestimate: upgrade {_duration(report.seconds)}, snapshot {_duration(report.snapshot_seconds)}; "
                   f"expected downtime {_duration(report.downtime_seconds)} (rates: {report.rates_source})")
    if not report.ok:
        api.raise_on_failures(report.checks)  # the same exit codes as upgrade


COMMANDS = [plan]
