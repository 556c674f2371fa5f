"""``harbor-migrate plan``: read-only; the steps and the exact SQL of each."""
from __future__ import annotations

import click

from .. import api
from ..db import connect
from ..status import locate
from ..steps.plan_ops import render_steps
from .options import connection_options, json_option
from .render import emit_json, err


@click.command("plan")
@connection_options
@click.option("--to", "target", default="1.5.2", show_default=True, help="Harbor version or revision id.")
@click.option("--from", "from_revision", help="Start revision when alembic_version is missing or wrong.")
@click.option("--sql", "as_sql", is_flag=True, help="Write the whole upgrade as one SQL script on stdout.")
@json_option
def plan(settings, target, from_revision, as_sql, as_json) -> None:
    """Show what `upgrade` would do, step by step, without changing anything."""
    target_rev = api.resolve_target(target)
    with connect(settings) as db:
        db.execute("SET SESSION TRANSACTION READ ONLY")
        st = locate(db)
        start = api.start_revision(st, from_revision)
        steps = render_steps(db, start, target_rev)
    if as_json:
        emit_json({"database": st.database, "from": start, "to": target_rev, "steps": [
            {"revision": s.revision, "summary": s.summary, "operations": [
                {"name": o.name, "kind": o.kind, "tables": list(o.tables), "rewrites_table": o.rewrites,
                 "sql": o.statements} for o in s.ops]} for s in steps]})
        return
    if as_sql:
        err(f"plan: {st.database} {start} -> {target_rev}")
        click.echo(f"-- harbor-migrate upgrade of `{settings.database}` from {start} to {target_rev}")
        click.echo("SET SESSION sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';")
        click.echo("SET SESSION time_zone = '+00:00';")
        for s in steps:
            click.echo(f"\n-- step {s.revision}: {s.summary}")
            for o in s.ops:
                click.echo(f"-- {o.name}")
                for stmt in o.statements:
                    click.echo(stmt.rstrip(";") + ";")
        return
    click.echo(f"{st.database}: {st.server}, revision {start} -> {target_rev}")
    for s in steps:
        click.echo(f"\nstep {s.revision}: {s.summary}")
        for o in s.ops:
            click.echo(f"  - {o.name}{' [rewrites table]' if o.rewrites else ''}")
            for stmt in o.statements:
                click.echo("      " + stmt.replace("\n", "\n      ") + ";")


COMMANDS = [plan]
