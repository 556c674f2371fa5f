"""``harbor-migrate status``: the revision, what the schema says, and the drift."""
from __future__ import annotations

import click

from .. import api
from . import postgres_target
from .options import connection_options, json_option
from .render import emit_json, status_text


@click.command("status")
@postgres_target.postgres_dsn_accepted
@connection_options
@postgres_target.target_options
@json_option
def status(settings, pg_target, as_json: bool) -> None:
    """Show the database's revision (declared and fingerprinted) and every drift from it.

    With --target-dsn, the PostgreSQL database instead: empty, a half-done move, or Harbor 1.6.0
    (and its differences from a fresh 1.6.0).
    """
    if pg_target is not None:
        return postgres_target.status(pg_target, as_json)
    st = api.status(settings)
    if as_json:
        emit_json(st.to_json())
    else:
        click.echo(status_text(st))


COMMANDS = [status]
