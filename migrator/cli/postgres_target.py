"""The PostgreSQL target (Harbor 1.6.0) on upgrade, plan, status and verify: its flags and its rendering.

The commands keep their MySQL behaviour; with ``--to 1.6.0`` (upgrade, plan) or
``--target-dsn`` (status, verify) they hand over to the functions here.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import click

from .. import api
from ..errors import Aborted
from .render import echo_checks, emit_json, err, is_tty


def target_options(fn: Callable) -> Callable:
    """``--target-dsn`` and ``--target-password-file``; the command receives ``pg_target`` (PgSettings or None).

    The parameter is not called ``target_dsn``: that name makes ``connection_options``
    treat the flag as restore's MySQL target."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["pg_target"] = api.target_settings(kwargs.pop("pg_dsn"), kwargs.pop("pg_password_file"))
        return fn(*args, **kwargs)

    wrapper = click.option("--target-password-file", "pg_password_file", type=click.Path(dir_okay=False),
                           help="Read the PostgreSQL password from this file "
                                "(env HARBOR_MIGRATE_TARGET_PASSWORD_FILE).")(wrapper)
    return click.option("--target-dsn", "pg_dsn",
                        help=f"The PostgreSQL database for Harbor {api.PG_TARGET.id}: postgresql://user[:password]"
                             "@host:port/database[?sslmode=…&host=/socket/dir] (env HARBOR_MIGRATE_TARGET_DSN); "
                             "the password is masked in all output.")(wrapper)


def postgres_dsn_accepted(fn: Callable) -> Callable:
    """``--dsn postgresql://…`` names the PostgreSQL database (as ``--target-dsn`` does). Placed above
    ``connection_options``, so that the MySQL settings never see it."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        dsn = kwargs.get("dsn") or ""
        if dsn.split("://", 1)[0] in ("postgresql", "postgres", "postgresql+psycopg") and not kwargs.get("pg_dsn"):
            kwargs["pg_dsn"], kwargs["dsn"] = dsn, None
        return fn(*args, **kwargs)
    return wrapper


def _duration(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 120 else f"{seconds / 60:.1f} min"


def upgrade(settings, pg_target, *, yes: bool, force_target: bool, as_json: bool, options, **upgrade_options) -> None:
    target = api.require_target(pg_target)

    def confirm(what: str) -> bool:
        err(f"upgrade: {what}")
        if yes:
            return True
        if not is_tty():
            raise Aborted("nothing changed: confirmation needed — rerun with --yes to upgrade without a question")
        return click.confirm("Upgrade and move?", default=False, err=True)

    outcome = api.upgrade_to_postgres(settings, target, options, force_target=force_target, confirm=confirm,
                                      progress=err, **upgrade_options)
    if as_json:
        emit_json(outcome.to_json())
        return
    m = outcome.move
    click.echo(f"mysql: revision {outcome.mysql.after.start if outcome.mysql.after else api.HEAD}"
               + (" (already there)" if outcome.mysql.noop else ""))
    click.echo(f"moved {sum(m.rows.values())} rows in {len(m.rows)} tables in {m.seconds:.2f}s"
               + (f" (resumed; {len(m.kept)} table(s) kept)" if m.resumed else ""))
    click.echo(f"done: {outcome.target.database} is {outcome.target.message}")


def plan(settings, pg_target, *, as_json: bool, force_target: bool = False, **chain_options) -> None:
    report = api.plan_move(settings, api.require_target(pg_target), force=force_target, **chain_options)
    if as_json:
        emit_json(report.to_json())
    else:
        chain = report.chain
        click.echo(f"{chain.database}: {chain.server}, revision {chain.start} -> {chain.target}, then moved into "
                   f"{report.target.database} ({report.target.server}) as Harbor {api.PG_TARGET.id}")
        click.echo("\npre-flight (MySQL):")
        echo_checks(chain.checks, details=0)
        click.echo("\npre-flight (the move):")
        echo_checks(report.checks)
        for s in chain.steps:
            click.echo(f"\nstep {s.revision}: {s.summary} (about {_duration(s.seconds)})")
            for o in s.ops:
                click.echo(f"  - {o.name} [{o.rows} rows; ~{_duration(o.seconds)}]")
        how = ("as the last recorded move took, scaled by rows" if report.move_estimate == "journal" else
               "at a default rate; `rehearse --to 1.6.0` measures it")
        click.echo(f"\nstep {api.PG_TARGET.id}: move to PostgreSQL (about {_duration(report.move_seconds)}, {how})")
        for table, source, rows in report.tables:
            click.echo(f"  - {table} <- {source}: {rows} rows")
        click.echo(f"\nestimate: MySQL upgrade {_duration(chain.seconds)}, snapshot {_duration(chain.snapshot_seconds)},"
                   f" move {_duration(report.move_seconds)}; expected downtime {_duration(report.seconds)}")
    if not report.chain.ok:
        api.raise_on_failures(report.chain.checks)
    api.raise_on_move_failures(report.checks)


def status(pg_target, as_json: bool) -> None:
    st = api.target_status(pg_target)
    if as_json:
        emit_json(st.to_json())
        return
    click.echo(f"database:  {st.database}")
    click.echo(f"server:    {st.server}")
    click.echo(f"state:     {st.state} — {st.message}")
    if st.finished:
        click.echo("finished:  " + ", ".join(f"{t} ({n} rows)" for t, n in st.finished.items()))
    if st.drift:
        click.echo(f"drift ({len(st.drift)}):")
        for d in st.drift:
            click.echo(f"  - {d}")

