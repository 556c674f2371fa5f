"""``harbor-migrate demo``: the whole job on a throwaway server, start to finish.

Starts a MariaDB from the local binary (temporary data dir, free port, timestamp
rules as MySQL 5.6 had them), seeds a realistic Harbor 0.5.0 database, shows
``status``, snapshots, upgrades, verifies the schema against a fresh 1.5.2,
shows ``status`` again, and tears everything down.
"""
from __future__ import annotations

import time

import click

from .. import api
from ..errors import VerifyFailed
from .render import err, status_text


@click.command("demo")
@click.option("--log-rows", type=int, default=100_000, show_default=True,
              help="Generated access_log rows on top of the sample data.")
@click.option("--timestamps", type=click.Choice(["mysql56", "mysql8"]), default="mysql56", show_default=True,
              help="Server timestamp rules: mysql56 = explicit_defaults_for_timestamp OFF (stock Harbor), mysql8 = ON.")
@click.option("--keep", is_flag=True, help="Leave the server running and print how to connect.")
def demo(log_rows, timestamps, keep) -> None:
    """Seed a Harbor 0.5.0 database on a throwaway MariaDB, upgrade it to 1.5.2 and verify it."""
    t0 = time.monotonic()
    with api.demo_server(log_rows=log_rows, timestamps=timestamps, keep=keep, progress=err) as demo_db:
        settings = demo_db.settings
        click.echo("== status before ==")
        click.echo(status_text(api.status(settings)))
        outcome = api.demo_upgrade(demo_db, progress=err)
        click.echo("== upgrade ==")
        assert outcome.result is not None
        for step in outcome.result.steps:
            click.echo(f"{step.revision}: {step.seconds:.2f}s")
        click.echo(f"total: {outcome.result.seconds:.2f}s")
        click.echo("== status after ==")
        click.echo(status_text(api.status(settings)))
        report = api.verify(settings, only=("schema", "data"), snapshot=outcome.snapshot)
        click.echo("== verify (schema against a fresh Harbor 1.5.2, data against the snapshot) ==")
        for checks in report.sections.values():
            for c in checks:
                click.echo(c.line())
                for d in c.details[:10]:
                    click.echo(f"       {d}")
        click.echo(f"demo finished in {time.monotonic() - t0:.1f}s")
        if not report.ok:
            raise VerifyFailed("the upgraded database is not consistent (see above)")
        if keep:
            click.echo(f"server kept: {demo_db.kept_hint}")


COMMANDS = [demo]
