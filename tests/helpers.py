"""Small helpers the tests share: reading rows, and running the CLI in-process."""
from __future__ import annotations

from click.testing import CliRunner

from migrator.cli import cli, main
from migrator.mysql.connection import connect


def rows(settings, sql: str, args=None) -> list[tuple]:
    with connect(settings) as db:
        return db.query(sql, args)


def seeded_head(server, name: str, log_rows: int = 0):
    """A fresh database ``name`` on ``server`` (restarted if it had died): the 0.5.0 seed
    (plus ``log_rows`` access_log rows), upgraded to head; its settings."""
    from migrator import api
    from migrator.chain.executor import UpgradeOptions
    from migrator.tools.seed import seed_050
    server.ensure_running()
    server.create_database(name)
    settings = server.settings(name)
    with connect(settings) as db:
        seed_050(db, log_rows=log_rows)
    api.upgrade(settings, UpgradeOptions())
    return settings


def run_cli(args: list[str], env: dict | None = None, input: str | None = None):
    """Run the CLI the way the console script does (errors mapped to exit codes).

    Returns (exit_code, stdout, stderr).
    """
    runner = CliRunner()
    holder = {}

    def call():
        holder["code"] = main(args)

    result = runner.invoke(_wrap(call), [], env=env, input=input, catch_exceptions=False)
    return holder.get("code", result.exit_code), result.stdout, result.stderr


def _wrap(fn):
    import click

    @click.command()
    def command():
        fn()

    return command
