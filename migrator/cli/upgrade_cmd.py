"""``harbor-migrate upgrade``: snapshot, then the chain step by step; rerun to resume."""
from __future__ import annotations

import contextlib
import signal

import click

from .. import api
from ..errors import Aborted, UsageError
from . import postgres_target
from .options import connection_options, json_option
from .render import emit_json, err, is_tty


class StopFlag:
    """First Ctrl-C: finish the current operation, then stop (exit 130). Second: stop now."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    @contextlib.contextmanager
    def installed(self):
        def handler(signum, frame):
            if self.requested:
                raise KeyboardInterrupt
            self.requested = True
            err("harbor-migrate: stopping after the current operation (Ctrl-C again to stop at once)")
        try:
            previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread (tests)
            yield self
            return
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)


@click.command("upgrade")
@connection_options
@click.option("--to", "target", default="1.5.2", show_default=True,
              help="Harbor version (1.5.2) or revision id (1.5.0) to reach; 1.6.0 with --target-dsn: the "
                   "chain to 1.5.0, then the move into PostgreSQL.")
@click.option("--from", "from_revision", help="Start revision when alembic_version is missing or wrong.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Run even though other clients are connected to the database.")
@click.option("--no-snapshot", is_flag=True, help="Skip the snapshot taken before anything changes (explicit only).")
@click.option("--snapshot-dir", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Where the pre-upgrade snapshot is written.")
@click.option("--with-admiral", is_flag=True, help="Harbor ran with Admiral: enabled policies become Manual, "
                                                    "no immediate triggers (as Harbor's 1.4.0 does then).")
@click.option("--copy-chunk-rows", type=int, default=0, show_default=True,
              help="Copy access_log in chunks of this many rows (0: one statement).")
@click.option("--skip-check", "skip_checks", multiple=True,
              help="Turn a failing pre-flight check into a warning (by name, repeatable).")
@click.option("--harbor-user", help="Harbor 1.5.2's database account (user@host), for the harbor_account check.")
@postgres_target.target_options
@click.option("--force-target", is_flag=True, help="--to 1.6.0: drop Harbor's 1.6.0 tables in the PostgreSQL target "
                                                   "first (never anything else there).")
@json_option
def upgrade(settings, target, from_revision, yes, force, no_snapshot, snapshot_dir, with_admiral, copy_chunk_rows,
            skip_checks, harbor_user, pg_target, force_target, as_json) -> None:
    """Upgrade the database to Harbor 1.5.2 (or --to), one revision at a time.

    Each revision is stamped in alembic_version when done. After any failure or
    interruption, run the same command again: it finishes exactly what is missing.
    """
    to_postgres = api.is_pg_target(api.resolve_target(target, postgres=True))
    if pg_target is not None and not to_postgres:
        raise UsageError(f"--target-dsn is the PostgreSQL database of --to {api.PG_TARGET.id}; --to {target} stays on MySQL")
    options = api.UpgradeOptions(target=api.HEAD if to_postgres else api.resolve_target(target),
                                 with_admiral=with_admiral, copy_chunk_rows=copy_chunk_rows)

    def confirm(st, start, end) -> bool:
        err(f"{st.database}: {st.server}, revision {start} -> {end}")
        if yes:
            return True
        if not is_tty():
            raise Aborted("nothing changed: confirmation needed — rerun with --yes to upgrade without a question")
        return click.confirm(f"Upgrade {st.database} from {start} to {end}?", default=False, err=True)

    if no_snapshot:
        err("snapshot: skipped (--no-snapshot)")
    stop = StopFlag()
    if to_postgres:  # the MySQL chain to its head, then the move (api.upgrade_to_postgres)
        with stop.installed():
            postgres_target.upgrade(settings, pg_target, yes=yes, force_target=force_target, as_json=as_json,
                                    options=options, from_revision=api.resolve_start(from_revision),
                                    force_clients=force, should_stop=stop, skip_checks=tuple(skip_checks),
                                    snapshot_dir=None if no_snapshot else snapshot_dir, harbor_user=harbor_user)
        return
    with stop.installed():
        outcome = api.upgrade(settings, options, from_revision=api.resolve_start(from_revision), force_clients=force,
                              confirm=confirm, progress=err, should_stop=stop,
                              skip_checks=tuple(skip_checks), snapshot_dir=None if no_snapshot else snapshot_dir,
                              harbor_user=harbor_user)
    if as_json:
        emit_json(outcome.to_json())
        return
    if outcome.noop:
        click.echo(f"already at revision {outcome.before.start} (Harbor {outcome.before.releases}): nothing to do")
        if outcome.before.drift:
            click.echo(f"note: {len(outcome.before.drift)} difference(s) from a fresh schema; see `harbor-migrate status`")
        return
    assert outcome.result is not None
    for step in outcome.result.steps:
        click.echo(f"{step.revision}: {step.seconds:.2f}s ({sum(1 for o in step.ops if o.ran)} operations)")
    after = outcome.after
    click.echo(f"done in {outcome.result.seconds:.2f}s: revision {after.start}, "
               f"{'no drift' if not after.drift else f'{len(after.drift)} difference(s), see status'}")


COMMANDS = [upgrade]
