"""``harbor-migrate runbook``: the runbook for this environment, as Markdown or JSON."""
from __future__ import annotations

import click

from .. import api
from ..errors import UsageError
from . import postgres_target
from .options import connection_options, json_option
from .render import emit_json


@click.command("runbook")
@connection_options
@click.option("--snapshot-dir", default="/var/backups/harbor-migrate", show_default=True,
              help="Where the upgrade's snapshot will be written.")
@click.option("--cfg", help="Path of the 0.5.0 harbor.cfg (for the conversion step).")
@click.option("--registry", help="Registry URL for the after-window verification.")
@click.option("--harbor", help="Harbor URL for the after-window verification.")
@click.option("--no-calibrate", is_flag=True, help="Do not time a scratch TEMPORARY table; use defaults.")
@click.option("--to", "target", default="1.5.2", show_default=True,
              help="1.5.2, or 1.6.0 with --target-dsn: the chain, then the move into PostgreSQL.")
@postgres_target.target_options
@json_option
def runbook(settings, snapshot_dir, cfg, registry, harbor, no_calibrate, target, pg_target, as_json) -> None:
    """Render the runbook for this database: real names, the plan's steps and timings, exact commands.

    Read-only (it runs `plan`). Timings come from the last rehearsal of this
    database when there is one. With --to 1.6.0 --target-dsn: the runbook of the
    path into PostgreSQL (both sides' pre-flight, the move's tables, rollback).
    """
    to = api.resolve_target(target, postgres=True)
    if api.is_pg_target(to):
        book = api.runbook_move(settings, api.require_target(pg_target), snapshot_dir, cfg=cfg, registry=registry,
                                harbor=harbor, calibrate=not no_calibrate)
    elif pg_target is not None:
        raise UsageError(f"--target-dsn is the PostgreSQL database of --to {api.PG_TARGET.id}")
    elif to != api.HEAD:
        raise UsageError(f"--to {target}: the runbook goes to {api.HEAD_RELEASE} or {api.PG_TARGET.id}")
    else:
        book = api.runbook(settings, snapshot_dir, cfg=cfg, registry=registry, harbor=harbor,
                           calibrate=not no_calibrate)
    if as_json:
        emit_json(book)
    else:
        click.echo(api.runbook_markdown(book), nl=False)


COMMANDS = [runbook]
