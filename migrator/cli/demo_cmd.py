"""``harbor-migrate demo``: the whole job on a throwaway server, start to finish.

Starts a MariaDB from the local binary (temporary data dir, free port, timestamp
rules as MySQL 5.6 had them), seeds a realistic Harbor 0.5.0 database, shows
``status``, snapshots, upgrades, verifies the schema against a fresh 1.5.2,
shows ``status`` again, and tears everything down.
"""
from __future__ import annotations

import secrets
import tempfile
import time

import click

from .. import api
from ..mysql.connection import connect
from ..chain.executor import UpgradeOptions
from ..tools.local_server import LocalServer
from ..tools.seed import seed_050
from ..safety.journal import Journal
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
    mode = "OFF" if timestamps == "mysql56" else "ON"
    server = LocalServer({"explicit-defaults-for-timestamp": mode}, keep=keep)
    try:
        server.start()
        password = secrets.token_urlsafe(12)
        server.create_user("harbor", password)
        server.create_database("registry")
        settings = server.settings("registry", user="harbor", password=password, tcp=True)
        err(f"demo: throwaway {settings.masked_dsn()} (explicit_defaults_for_timestamp={mode})")
        with connect(settings) as db:
            seed_050(db, sample=True, log_rows=log_rows)
        err(f"demo: seeded a Harbor 0.5.0 database with {log_rows + 7} access_log rows")
        click.echo("== status before ==")
        click.echo(status_text(api.status(settings)))
        snapdir = tempfile.mkdtemp(prefix="harbor-migrate-demo-snap-", dir=server.dir)
        outcome = api.upgrade(settings, UpgradeOptions(), progress=err, snapshot_dir=snapdir,
                              journal=Journal(settings, directory=server.dir))
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
            from ..errors import VerifyFailed
            raise VerifyFailed("the upgraded database is not consistent (see above)")
        if keep:
            click.echo(f"server kept: mariadb --socket={server.socket} -uroot registry  (stop: kill {server.proc.pid})")
    finally:
        if not keep:
            server.destroy()


COMMANDS = [demo]
