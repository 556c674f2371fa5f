"""``harbor-migrate cfg``: convert harbor.cfg, check the secret key, apply verify_remote_cert.

Thin wrappers over ``migrator.cfg``: parse flags, call, render (text or
``--json`` on stdout, progress on stderr), map errors to exit codes.
"""
from __future__ import annotations

import functools
import json
import os
import tempfile
from typing import Any, Callable

import click

from .. import api
from ..verdicts import Check, Verdict, worst
from ..errors import ConfigInvalid, KeyInvalid, MigratorError, UsageError
from ..settings import ConnectionSettings, mask_dsn
from .options import connection_options
from .postgres_target import target_options

def handle_errors(f: Callable) -> Callable:
    """Turn a MigratorError into its one-line message on stderr and its exit code.

    Only when the command runs on its own (the ``cfg`` group, or the command itself,
    is the root): under the main CLI the error goes up to ``migrator.cli.main``,
    which maps it the same way.
    """
    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except MigratorError as exc:
            ctx = click.get_current_context()
            if ctx.find_root().command not in (cfg, ctx.command):
                raise
            click.echo(f"harbor-migrate: error: {mask_dsn(exc.message)}", err=True)
            ctx.exit(int(exc.exit_code))
    return wrapper


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise ConfigInvalid(f"{path} is not UTF-8 text: save it as UTF-8 and try again") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None


def write_private(path: str, text: str, *, force: bool) -> None:
    """Write ``text`` with mode 0600, atomically; never replace an existing file unless ``force``."""
    target = os.path.abspath(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".harbor-migrate-", suffix=".cfg", dir=os.path.dirname(target))
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)   # fails if the target exists, with no window for a race
            except FileExistsError:
                raise UsageError(f"{path} exists: pass --force to overwrite it") from None
            except OSError:            # a file system without hard links: create-exclusive instead
                try:
                    out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    raise UsageError(f"{path} exists: pass --force to overwrite it") from None
                with os.fdopen(out, "w", encoding="utf-8") as fh:
                    fh.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _echo_checks(checks: list[Check], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"status": worst(checks).value, "checks": [c.to_json() for c in checks]}, indent=2))
        return
    for c in checks:
        click.echo(c.line())
        for detail in c.details:
            click.echo(f"       {detail}")


@click.group("cfg")
def cfg() -> None:
    """harbor.cfg 0.5.0 -> 1.5.2, the secret key, and the replication certificate flag."""


@cfg.command("convert")
@click.argument("old_cfg", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the new harbor.cfg (mode 0600).")
@click.option("--to", "to", type=click.Choice(["1.5.2", "1.6.0"]), default="1.5.2", show_default=True,
              help="Harbor release of the new file; 1.6.0 also converts a 1.5.x file, its db_* keys "
                   "from --target-dsn (PostgreSQL).")
@click.option("--force", is_flag=True, help="Overwrite OUTPUT if it exists.")
@click.option("--include-db-password", is_flag=True,
              help="Write the connection's password as db_password (default: keep the file's).")
@click.option("--secretkey-dir", help="Directory of the 0.5.0 secretkey file (default /data).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@target_options
@connection_options(optional=True)
@handle_errors
def convert_cmd(old_cfg: str, output: str, to: str, force: bool, include_db_password: bool,
                secretkey_dir: str | None, as_json: bool, settings: ConnectionSettings | None,
                pg_target: Any = None) -> None:
    """Convert a Harbor 0.5.0 OLD_CFG into a 1.5.2 (or 1.6.0) harbor.cfg.

    --to 1.6.0 also takes a 1.5.x OLD_CFG. 1.5.2: the database keys come from the connection (flags or HARBOR_MIGRATE_*), when one is named;
    db_password only with --include-db-password. 1.6.0: they come from --target-dsn (the PostgreSQL
    database), db_password from it or --target-password-file.
    """
    if to == "1.5.2" and pg_target is not None:
        raise UsageError("--target-dsn names the PostgreSQL database of --to 1.6.0; --to 1.5.2 takes the MySQL "
                         "connection flags")
    if to != "1.5.2" and include_db_password:
        raise UsageError("--include-db-password is for --to 1.5.2; for 1.6.0 db_password comes from "
                         "--target-dsn or --target-password-file")
    if os.path.exists(output) and os.path.samefile(old_cfg, output):
        raise UsageError("OUTPUT is the 0.5.0 file itself: keep it, it is the only copy of the 0.5.0 settings")
    if os.path.exists(output) and not force:
        raise UsageError(f"{output} exists: pass --force to overwrite it")
    if to == "1.5.2" and settings is not None:
        click.echo(f"database keys from {settings.masked_dsn()}", err=True)
    elif to != "1.5.2" and pg_target is not None:
        click.echo(f"database keys from {pg_target.masked_dsn()}", err=True)
    try:
        text, report = api.cfg_convert(_read_text(old_cfg), db=settings, include_db_password=include_db_password,
                                       secretkey_dir=secretkey_dir, source=old_cfg, to=to, target=pg_target)
    except api.ConversionRefused as exc:
        if as_json:
            click.echo(exc.report.render_json())
        raise
    write_private(output, text, force=force)
    click.echo(f"wrote {output} (mode 0600)", err=True)
    if as_json:
        click.echo(json.dumps({"output": output, **report.to_json()}, indent=2))
    else:
        click.echo(report.render_text())


@cfg.command("check-key")
@click.argument("keyfile", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON.")
@connection_options
@handle_errors
def check_key_cmd(keyfile: str, as_json: bool, settings: ConnectionSettings) -> None:
    """Check that KEYFILE (the 0.5.0 secretkey) decrypts every replication target password.

    Exit code 22 when the key file is unusable or a password does not decrypt.
    """
    api.cfg_read_key(keyfile)   # a bad file fails before any connection is made
    assert settings is not None
    click.echo(f"checking against {settings.masked_dsn()}", err=True)
    checks = api.cfg_check_key(settings, keyfile)
    _echo_checks(checks, as_json)
    failed = sum(c.data.get("failed", 0) for c in checks if c.status == Verdict.FAIL)
    if failed:
        raise KeyInvalid(f"{failed} replication target password(s) do not decrypt with {keyfile}: "
                         "use the secretkey file of the 0.5.0 installation")


@cfg.command("apply-insecure")
@click.argument("old_cfg", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only report what would change.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@connection_options
@handle_errors
def apply_insecure_cmd(old_cfg: str, dry_run: bool, as_json: bool, settings: ConnectionSettings) -> None:
    """Set insecure = 1 on every replication target when OLD_CFG says verify_remote_cert = off.

    Run it after `harbor-migrate upgrade` (it needs revision 1.3.0 or later).
    """
    text = _read_text(old_cfg)
    assert settings is not None
    click.echo(f"{'dry run against' if dry_run else 'updating'} {settings.masked_dsn()}", err=True)
    check = api.cfg_apply_insecure(settings, text, dry_run=dry_run, source=old_cfg)
    _echo_checks([check], as_json)
