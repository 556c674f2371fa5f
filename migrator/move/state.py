"""What a PostgreSQL target holds: nothing, a half-done move, Harbor 1.6.0, or something else.

Read-only; ``status --target-dsn`` shows it and the move's pre-flight decides on it.
"""
from __future__ import annotations

import dataclasses

from ..postgres.compare import compare_schemas
from ..postgres.connection import PgDatabase
from ..postgres.introspect import PgSchema, read_schema
from .copy import STATE_TABLE, _occupants
from .target_schema import ALEMBIC_VERSION, phase_after_load, phase_tables


@dataclasses.dataclass
class TargetState:
    database: str                       # masked DSN
    server: str
    state: str                          # "empty", "moving", "1.6.0" or "other"
    message: str
    declared: list[str] = dataclasses.field(default_factory=list)      # alembic_version rows
    finished: dict[str, int] = dataclasses.field(default_factory=dict)  # a half-done move's tables -> rows
    drift: list[str] = dataclasses.field(default_factory=list)          # against our 1.6.0 declaration
    occupants: list[str] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)


def expected_schema(pg: PgDatabase) -> PgSchema:
    """Our 1.6.0 declaration, rendered into a scratch schema of the same database and read back.

    A scratch *schema* in one rolled-back transaction (so nothing remains, and no CREATE
    DATABASE privilege is needed): tests/postgres prove this rendering equal to Harbor's
    registry-1.6.0.pgsql (plus schema_migrations) on the same server.
    """
    scratch = "harbor_migrate_expected"
    read: list[PgSchema] = []
    try:
        with pg.transaction():
            # The only writes of a read-only session (status, verify): rolled back below, never committed.
            pg.execute("SET TRANSACTION READ WRITE")
            pg.execute(f"CREATE SCHEMA {scratch}")
            pg.execute(f"SET LOCAL search_path = {scratch}")   # names read back unqualified, as in public
            for statement in phase_tables() + phase_after_load():
                pg.execute(statement)
            read.append(_as_public(read_schema(pg, scratch), f"{scratch}."))
            raise _RollBack
    except _RollBack:
        pass
    return read[0]


def _as_public(value, prefix: str):
    """The scratch schema read as if it were ``public``: its name where the catalogs print it
    (index definitions qualify their table) becomes ``public.``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _as_public(getattr(value, f.name), prefix)
                                             for f in dataclasses.fields(value) if f.init})
    if isinstance(value, dict):
        return {k: _as_public(v, prefix) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_as_public(v, prefix) for v in value)
    return value.replace(prefix, "public.") if isinstance(value, str) else value


class _RollBack(Exception):
    """Leaves ``pg.transaction()`` by rolling it back: the scratch schema never existed."""


def locate_target(pg: PgDatabase, *, with_drift: bool = True) -> TargetState:
    where, server = pg.settings.masked_dsn(), f"PostgreSQL {pg.server_version}"
    occupants = _occupants(pg)
    if not occupants:
        return TargetState(where, server, "empty", "an empty database: ready for the move")
    if pg.scalar("SELECT to_regclass(%s) IS NOT NULL", (STATE_TABLE,)):
        finished = {n: int(r) for n, r in pg.query(f"SELECT table_name, rows FROM {STATE_TABLE} ORDER BY finished_at")}
        return TargetState(where, server, "moving", f"a half-done move ({len(finished)} table(s) finished): run the "
                           "same upgrade again to finish it", finished=finished, occupants=occupants)
    declared: list[str] = []
    if pg.scalar("SELECT to_regclass('alembic_version') IS NOT NULL"):
        declared = [r[0] for r in pg.query("SELECT version_num FROM alembic_version ORDER BY 1")]
    if declared == [ALEMBIC_VERSION]:
        drift = compare_schemas(expected_schema(pg), read_schema(pg)) if with_drift else []
        msg = "Harbor 1.6.0" + (", schema as a fresh 1.6.0" if with_drift and not drift else
                                f", {len(drift)} difference(s) from a fresh 1.6.0" if drift else "")
        return TargetState(where, server, ALEMBIC_VERSION, msg, declared, drift=drift, occupants=occupants)
    shown = ", ".join(occupants[:5]) + (f" and {len(occupants) - 5} more" if len(occupants) > 5 else "")
    what = f"alembic_version {', '.join(declared)}" if declared else "no Harbor 1.6.0 alembic_version"
    return TargetState(where, server, "other", f"not empty: {shown} ({what})", declared, occupants=occupants)
