"""What alembic's own CLI calls from our revision scripts.

It wraps alembic's connection in our ``Database`` and runs the same
operations as ``harbor-migrate upgrade`` (minus the stamp, which alembic does
itself), so both paths give the same database.
"""
from __future__ import annotations

from typing import Any

from ..errors import UnknownVersion


def _database(connection: Any):
    from ..mysql.connection import Database
    from ..settings import ConnectionSettings

    raw = connection.connection.dbapi_connection
    with raw.cursor() as cur:
        cur.execute("SELECT DATABASE(), CURRENT_USER()")
        name, user = cur.fetchone()
    raw.autocommit(True)
    db = Database(raw, ConnectionSettings(database=name, user=str(user).split("@")[0]))
    db.prepare_session()
    return db


def run_revision(connection: Any, revision: str) -> None:
    from .executor import run_data_checks
    from ..schema.introspect import introspect
    from .planner import context_for
    from .steps import STEPS

    step = STEPS[revision]
    db = _database(connection)
    ctx = context_for(step, db.server_info(), introspect(db), db)
    # alembic keeps its own version table (and stamps it): leave it to alembic.
    ops = [op for op in step.ops if op.kind != "stamp" and "alembic_version" not in op.tables]
    run_data_checks(ctx, [op for op in ops if op.pending(ctx)])
    for op in ops:
        ctx.refresh(op.tables)
        if op.pending(ctx):
            ctx.ran(op.tables)
            op.run(ctx)
    db.conn.autocommit(False)


def no_downgrade(revision: str) -> None:
    raise UnknownVersion(f"revision {revision} cannot be downgraded: restore the snapshot taken before the upgrade "
                         "(harbor-migrate restore FILE)")
