"""``harbor-migrate demo``: the whole job on a throwaway server, start to finish.

Starts a MariaDB from the local binary (temporary data dir, free port, timestamp
rules as MySQL 5.6 had them), seeds a realistic Harbor 0.5.0 database, shows
``status``, snapshots, upgrades, verifies the schema against a fresh 1.5.2,
shows ``status`` again, and tears everything down. ``--to 1.6.0`` carries on: a throwaway
PostgreSQL, the move into it, both sides verified.
"""
from __future__ import annotations

import time

import click

from .. import api
from ..errors import UsageError, VerifyFailed
from .render import echo_checks, err, status_text


@click.command("demo")
@click.option("--log-rows", type=int, default=100_000, show_default=True,
              help="Generated access_log rows on top of the sample data.")
@click.option("--timestamps", type=click.Choice(["mysql56", "mysql8"]), default="mysql56", show_default=True,
              help="Server timestamp rules: mysql56 = explicit_defaults_for_timestamp OFF (stock Harbor), mysql8 = ON.")
@click.option("--keep", is_flag=True, help="Leave the server running and print how to connect.")
@click.option("--to", "target", default="1.5.2", show_default=True,
              help="1.5.2, or 1.6.0: then also a throwaway PostgreSQL, the move into it, both sides verified.")
def demo(log_rows, timestamps, keep, target) -> None:
    """Seed a Harbor 0.5.0 database on a throwaway MariaDB, upgrade it to 1.5.2 and verify it.

    With --to 1.6.0, move it on into a throwaway PostgreSQL (local binaries) and verify that too.
    """
    to = api.resolve_target(target, postgres=True)
    if api.is_pg_target(to):
        return _demo_to_postgres(log_rows, timestamps, keep)
    if to != api.HEAD:
        raise UsageError(f"--to {target}: the demo goes to {api.HEAD_RELEASE} or {api.PG_TARGET.id}")
    t0 = time.monotonic()
    with api.demo_server(log_rows=log_rows, timestamps=timestamps, keep=keep, progress=err) as demo_db:
        outcome = _status_and_upgrade(demo_db)
        click.echo("== status after ==")
        click.echo(status_text(api.status(demo_db.settings)))
        report = api.verify(demo_db.settings, only=("schema", "data"), snapshot=outcome.snapshot)
        _echo_checks("== verify (schema against a fresh Harbor 1.5.2, data against the snapshot) ==", report)
        click.echo(f"demo finished in {time.monotonic() - t0:.1f}s")
        if not report.ok:
            raise VerifyFailed("the upgraded database is not consistent (see above)")
        if keep:
            click.echo(f"server kept: {demo_db.kept_hint}")


def _status_and_upgrade(demo_db):
    """The part both demos share: the status before, then the upgrade (snapshot first) to 1.5.2."""
    click.echo("== status before ==")
    click.echo(status_text(api.status(demo_db.settings)))
    outcome = api.demo_upgrade(demo_db, progress=err)
    click.echo("== upgrade ==")
    assert outcome.result is not None
    for step in outcome.result.steps:
        click.echo(f"{step.revision}: {step.seconds:.2f}s")
    click.echo(f"total: {outcome.result.seconds:.2f}s")
    return outcome


def _echo_checks(title: str, report) -> None:
    click.echo(title)
    for checks in report.sections.values():
        echo_checks(checks, indent="")


def _demo_to_postgres(log_rows, timestamps, keep) -> None:
    """The demo on to 1.6.0: the MySQL demo's status, snapshot and upgrade, then the move into a
    throwaway PostgreSQL, both sides verified, both servers torn down (unless --keep)."""
    t0 = time.monotonic()
    with api.demo_server(log_rows=log_rows, timestamps=timestamps, keep=keep, progress=err) as demo_db, \
            api.throwaway_target(keep=keep, progress=lambda line: err(f"demo: {line}")) as target:
        settings = demo_db.settings
        outcome = _status_and_upgrade(demo_db)
        moved = api.demo_move(demo_db, target.settings, progress=err)
        click.echo(f"== move to PostgreSQL (Harbor {api.PG_TARGET.id}) ==")
        for table, rows in moved.move.rows.items():
            click.echo(f"{table}: {rows} rows, {moved.move.table_seconds.get(table, 0.0):.2f}s")
        click.echo(f"total: {moved.move.seconds:.2f}s")
        click.echo("== status after ==")
        click.echo(status_text(api.status(settings)))
        st = api.target_status(target.settings)
        click.echo(f"target:    {st.database}")
        click.echo(f"state:     {st.state} — {st.message}")
        mysql_report = api.verify(settings, only=("schema", "data"), snapshot=outcome.snapshot)
        _echo_checks("== verify MySQL (schema against a fresh Harbor 1.5.2, data against the snapshot) ==",
                     mysql_report)
        pg_report = api.verify_move(settings, target.settings)
        _echo_checks(f"== verify PostgreSQL (schema against a fresh Harbor {api.PG_TARGET.id}, every row against "
                     "the MySQL source) ==", pg_report)
        click.echo(f"demo finished in {time.monotonic() - t0:.1f}s")
        if not (mysql_report.ok and pg_report.ok):
            raise VerifyFailed("the upgraded or the moved database is not consistent (see above)")
        if keep:
            click.echo(f"servers kept: {demo_db.kept_hint}; {target.kept_hint}")


COMMANDS = [demo]
