"""``harbor-migrate status``: the revision, what the schema says, and the drift."""
from __future__ import annotations

import click

from .. import api
from .options import connection_options, json_option
from .render import emit_json, status_text


@click.command("status")
@connection_options
@json_option
def status(settings, as_json: bool) -> None:
    """Show the database's revision (declared and fingerprinted) and every drift from it."""
    st = api.status(settings)
    if as_json:
        emit_json(st.to_json())
    else:
        click.echo(status_text(st))


COMMANDS = [status]
