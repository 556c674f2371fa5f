"""``harbor-migrate verify``: the schema (and, when given, data and live services)."""
from __future__ import annotations

import click

from .. import api
from ..db import connect
from ..errors import VerifyFailed
from .options import connection_options, json_option
from .render import emit_json


@click.command("verify")
@connection_options
@json_option
def verify(settings, as_json) -> None:
    """Check the database against a fresh Harbor 1.5.2 schema on the same server."""
    with connect(settings) as db:
        drift = api.schema_drift(db)
    if as_json:
        emit_json({"schema": [str(d) for d in drift], "ok": not drift})
    else:
        click.echo("schema: ok" if not drift else f"schema: {len(drift)} difference(s)")
        for d in drift:
            click.echo(f"  - {d}")
    if drift:
        raise VerifyFailed(f"{len(drift)} schema difference(s) from a fresh Harbor 1.5.2")


COMMANDS = [verify]
