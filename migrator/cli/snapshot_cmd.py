"""``harbor-migrate snapshot`` / ``snapshot verify`` / ``restore``."""
from __future__ import annotations

import click

from .. import api
from .options import connection_options, json_option
from .render import emit_json, err


@click.group("snapshot", invoke_without_command=True)
@connection_options
@click.option("--dir", "directory", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Directory for NAME.sql.zst and NAME.manifest.json (the files are created 0600).")
@click.option("--name", help="Base name of the snapshot files (default DB-REVISION-UTCTIME).")
@json_option
@click.pass_context
def snapshot(ctx, settings, directory, name, as_json) -> None:
    """Take a consistent, checksummed snapshot of the database (reads only; writers wait a moment).

    `snapshot verify FILE` checks a snapshot against its manifest.
    """
    if ctx.invoked_subcommand is not None:
        return
    manifest = api.snapshot(settings, directory, name=name, progress=err)
    if as_json:
        emit_json({"manifest": str(manifest)})
    else:
        click.echo(str(manifest))


@snapshot.command("verify")
@click.argument("file", type=click.Path())
@json_option
def snapshot_verify(file, as_json) -> None:
    """Check FILE (the dump or the manifest) against the manifest: the file's hash, each table's rows."""
    manifest = api.verify_snapshot(file)
    if as_json:
        emit_json({"ok": True, "revision": manifest.revision, "tables": len(manifest.tables), "rows": manifest.rows})
    else:
        click.echo(f"ok: {len(manifest.tables)} tables, {manifest.rows} rows, revision {manifest.revision}, "
                   f"source {manifest.source.dsn}")


@click.command("restore")
@click.argument("file", type=click.Path())
@connection_options
@click.option("--target-dsn", help="Where to restore (default: the connection options; env "
                                   "HARBOR_MIGRATE_TARGET_DSN).")
@click.option("--force", is_flag=True, help="Replace the tables of a non-empty target database.")
@json_option
def restore(file, settings, force, as_json) -> None:
    """Restore a snapshot into a database (created if missing), then check counts and checksums.

    `--database` picks another database name on the same server.
    """
    manifest = api.restore(file, settings, force=force, progress=err)
    if as_json:
        emit_json({"ok": True, "target": settings.masked_dsn(), "tables": len(manifest.tables)})
    else:
        click.echo(f"restored {len(manifest.tables)} tables into {settings.masked_dsn()}; counts and checksums match")


COMMANDS = [snapshot, restore]
