"""``harbor-migrate runbook``: the runbook for this environment, as Markdown or JSON."""
from __future__ import annotations

import click

from .. import api
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
@json_option
def runbook(settings, snapshot_dir, cfg, registry, harbor, no_calibrate, as_json) -> None:
    """Render the runbook for this database: real names, the plan's steps and timings, exact commands.

    Read-only (it runs `plan`). Timings come from the last rehearsal of this
    database when there is one.
    """
    book = api.runbook(settings, snapshot_dir, cfg=cfg, registry=registry, harbor=harbor, calibrate=not no_calibrate)
    if as_json:
        emit_json(book)
    else:
        click.echo(api.runbook_markdown(book), nl=False)


COMMANDS = [runbook]
