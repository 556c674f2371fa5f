"""Where alembic's runtime and harbor-migrate's loop meet.

Both ways of running the chain go through alembic's own runtime (``MigrationContext``:
it walks the scripts in ``alembic_versions/`` and stamps ``alembic_version`` after each),
and every script's ``upgrade()`` calls ``run_revision``, which hands the revision to the
``ChainRun`` found in alembic's ``config.attributes`` — the usual way to give scripts a
runtime. ``harbor-migrate upgrade`` puts its own run there (``upgrade_through_alembic``);
``alembic -c alembic_versions/alembic.ini -x dsn=… upgrade head`` gets one from env.py
(``run_from_alembic_cli``), on the same connection alembic uses, with the run lock, the
statement watch and the journal, so both paths give the same database and resume the
same way.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlalchemy.exc
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError

from alembic_versions import SCRIPT_LOCATION

from ..errors import MigratorError, UnknownVersion
from ..mysql.connection import Database, sqlalchemy_connection, sqlalchemy_error, wrap_connection
from ..safety.journal import Journal
from ..settings import ConnectionSettings
from . import revisions as chain
from .runtime import ChainRun, UpgradeOptions, locked_run

RUN_KEY = "harbor_migrate.run"
_log = logging.getLogger("harbor_migrate")


def alembic_config(run: ChainRun | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    cfg.set_main_option("path_separator", "os")  # one location: no splitting on spaces (a path may hold one)
    cfg.set_main_option("version_locations", SCRIPT_LOCATION + "/versions")
    if run is not None:
        cfg.attributes[RUN_KEY] = run
    return cfg


def _configure(env: EnvironmentContext, connection: Any, run: ChainRun) -> None:
    """Alembic's options for Harbor's version table: no primary key, as Harbor creates it."""
    env.configure(connection=connection, transaction_per_migration=True, version_table_pk=False,
                  on_version_apply=lambda ctx, step, heads, run_args: _stamped(run, step))


def _stamped(run: ChainRun, step: Any) -> None:
    for revision in step.up_revision_ids:
        run.stamped(revision)


def _align_version_table(env: EnvironmentContext, script: ScriptDirectory, db: Database, start: str) -> None:
    """Make alembic's starting point ``start``: the revision status found (or --from gave)
    when alembic_version is missing, empty or (with --from) says otherwise."""
    rows = db.query("SELECT version_num FROM alembic_version") if db.has_table("alembic_version") else []
    declared = [str(r[0]) for r in rows]
    want = [] if start == chain.BASE else [start]
    if declared == want:
        return
    if declared:
        db.execute("DELETE FROM alembic_version")
    if want:
        env.get_context().stamp(script, start)


def upgrade_through_alembic(db: Database, start: str, target: str, run: ChainRun) -> None:
    """harbor-migrate's path: alembic's runtime on our connection, from ``start`` to ``target``."""
    cfg = alembic_config(run)
    script = ScriptDirectory.from_config(cfg)

    def steps(heads, context):  # noqa: ARG001 (alembic's signature)
        return script._upgrade_revs(target, start if start != chain.BASE else "base")

    with sqlalchemy_connection(db) as connection, \
            EnvironmentContext(cfg, script, fn=steps, destination_rev=target) as env:
        _configure(env, connection, run)
        _align_version_table(env, script, db, start)
        env.run_migrations()


def run_from_alembic_cli(connection: Any, settings: ConnectionSettings, env: EnvironmentContext) -> None:
    """alembic's CLI path (env.py): our run on alembic's connection, under the run lock."""
    try:
        try:
            _run_from_alembic_cli(connection, settings, env)
        except sqlalchemy.exc.DBAPIError as exc:
            raise sqlalchemy_error(exc, settings) from exc
    except MigratorError as exc:  # alembic's CLI prints a CommandError as one line: "FAILED: …"
        raise CommandError(exc.message) from exc


def _run_from_alembic_cli(connection: Any, settings: ConnectionSettings, env: EnvironmentContext) -> None:
    db = wrap_connection(connection, settings)
    start = _declared_or_base(db)
    run = ChainRun(db, UpgradeOptions(), start, progress=_log.info, journal=Journal(settings))
    env.config.attributes[RUN_KEY] = run
    _configure(env, connection, run)

    def body() -> None:
        run.prepare_session()
        with env.begin_transaction():
            env.run_migrations()

    locked_run(db, body)


def _declared_or_base(db: Database) -> str:
    if not db.has_table("alembic_version"):
        return chain.BASE
    rows = db.query("SELECT version_num FROM alembic_version")
    return str(rows[0][0]) if rows else chain.BASE


def run_revision(revision: str) -> None:
    """Called by each revision script's ``upgrade()``."""
    from alembic import context

    run = context.config.attributes.get(RUN_KEY)
    if run is None:
        raise UnknownVersion("the revision scripts run under harbor-migrate's runtime: use `harbor-migrate upgrade` "
                             "or alembic with alembic_versions/env.py (-c alembic_versions/alembic.ini)")
    run.run_step(revision)


def no_downgrade(revision: str) -> None:
    raise UnknownVersion(f"revision {revision} cannot be downgraded: restore the snapshot taken before the upgrade "
                         "(harbor-migrate restore FILE)")
