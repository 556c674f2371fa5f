"""Connections to a PostgreSQL server (the Harbor 1.6.0 target): the driver, errors.

The only place besides the rest of ``migrator/postgres`` that knows psycopg (3).
One ``PgDatabase`` is one psycopg connection in autocommit mode, session time
zone UTC (as the MySQL side's ``time_zone = '+00:00'``, so that ``now()`` and
``CURRENT_TIMESTAMP`` defaults written by our own sessions agree with the
values copied from MySQL). Driver errors become ``MigratorError``s with a
one-line message that names the fix, with the exit codes the MySQL side uses.
"""
from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator, Sequence

import psycopg
import psycopg.errors
from psycopg import sql

from ..errors import (AuthFailed, ConnectionFailed, DatabaseMissing, DataConflict, MigratorError,
                      MissingPrivileges, StepFailed)
from .settings import PgSettings

def _message(exc: Exception) -> str:
    """The server's (or libpq's) first line, without the "FATAL:" / "connection to … failed:" noise."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text = primary or str(exc)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    line = lines[0] if lines else type(exc).__name__
    line = re.sub(r"^(connection failed: )?(connection to server .*? failed: )?", "", line)
    return re.sub(r"^(FATAL|ERROR):\s+", "", line)


def translate_pg_error(exc: Exception, settings: PgSettings | None = None) -> MigratorError:
    """Map a psycopg error to a one-line error naming the fix (exit codes as on MySQL)."""
    where = settings.describe() if settings else "the server"
    state = getattr(exc, "sqlstate", None) or ""
    text = _message(exc)
    low = str(exc).lower()
    if state in ("28P01", "28000") or "password authentication failed" in low \
            or "no password supplied" in low or ("role" in low and "does not exist" in low) \
            or "no pg_hba.conf entry" in low:
        return AuthFailed(f"access denied for {where}: {text} — check the user and password "
                          "(and pg_hba.conf for this client)")
    if state == "3D000" or re.search(r'database ".*" does not exist', low):
        db = settings.database if settings else "?"
        return DatabaseMissing(f"database {db!r} does not exist on {where.rsplit('/', 1)[0]}: "
                               "create it (CREATE DATABASE … OWNER …) or check the DSN path")
    if state == "42501":
        return MissingPrivileges(f"missing privilege on {where}: {text} — grant it, or run as the "
                                 "owner of the database")
    if state.startswith("23"):
        name = getattr(getattr(exc, "diag", None), "constraint_name", None)
        return DataConflict(f"rows break a constraint{' ' + name if name else ''} on {where}: {text}")
    if state.startswith("22"):   # a value the column cannot hold (a COPY names its table, line and column)
        context = getattr(getattr(exc, "diag", None), "context", None) or ""
        where_row = context.strip().splitlines()[0] if context.strip() else ""
        return DataConflict(f"{text}{' (' + where_row + ')' if where_row else ''}, which the target cannot "
                            "hold — correct the row on the source, then run again")
    if state.startswith("08") or state in ("57P01", "57P02", "57P03") \
            or isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, OSError)) and not state:
        return ConnectionFailed(f"cannot reach {where}: {text} — check host, port, socket, TLS "
                                "options and that the server runs")
    return StepFailed(f"server error {state}: {text}" if state else f"server error: {text}")


def connect_pg(settings: PgSettings) -> "PgDatabase":
    try:
        conn = psycopg.connect(autocommit=True, **settings.psycopg_kwargs())
    except psycopg.Error as exc:
        raise translate_pg_error(exc, settings) from None
    except (OSError, ValueError) as exc:
        raise ConnectionFailed(f"cannot reach {settings.describe()}: {exc}") from None
    db = PgDatabase(conn, settings)
    db.execute("SET TIME ZONE 'UTC'")
    return db


class PgDatabase:
    """A thin, explicit wrapper: execute, query, COPY, transactions, server facts.

    Statements use psycopg's ``%s`` placeholders; a statement without
    parameters may hold several commands (a schema file, for instance).
    """

    def __init__(self, conn: "psycopg.Connection", settings: PgSettings):
        self.conn = conn
        self.settings = settings
        self.name = settings.database

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> "PgDatabase":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statements --------------------------------------------------------------
    def execute(self, statement: str, args: Sequence[Any] | None = None) -> int:
        try:
            with self.conn.cursor() as cur:
                cur.execute(statement, args)  # type: ignore[arg-type]
                return cur.rowcount
        except psycopg.Error as exc:
            raise translate_pg_error(exc, self.settings) from exc

    def query(self, statement: str, args: Sequence[Any] | None = None) -> list[tuple]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(statement, args)  # type: ignore[arg-type]
                return list(cur.fetchall())
        except psycopg.Error as exc:
            raise translate_pg_error(exc, self.settings) from exc

    def scalar(self, statement: str, args: Sequence[Any] | None = None) -> Any:
        rows = self.query(statement, args)
        return rows[0][0] if rows else None

    @contextlib.contextmanager
    def copy_in(self, table: str, columns: Sequence[str]) -> Iterator["psycopg.Copy"]:
        """``COPY table (columns) FROM STDIN``: write rows with ``copy.write_row(row)``.

        Values go in as Python objects (psycopg adapts them; ``None`` is NULL), so
        no text escaping of the MySQL dump's kind is involved. Outside a
        ``transaction()`` the COPY is its own transaction: all rows or none.
        """
        stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns))
        try:
            with self.conn.cursor() as cur, cur.copy(stmt) as copy:
                yield copy
        except psycopg.Error as exc:
            raise translate_pg_error(exc, self.settings) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator["PgDatabase"]:
        """Everything inside commits together, or nothing does (an exception rolls back)."""
        try:
            with self.conn.transaction():
                yield self
        except psycopg.Error as exc:
            raise translate_pg_error(exc, self.settings) from exc

    # -- facts -------------------------------------------------------------------
    @property
    def server_version(self) -> str:
        """``SHOW server_version``, e.g. ``15.14 (Debian 15.14-0+deb12u1)``."""
        return str(self.scalar("SHOW server_version"))

    @property
    def server_version_num(self) -> int:
        """e.g. 150014 for 15.14 (libpq's number: major * 10000 + minor)."""
        return int(self.conn.info.server_version)

    def table_names(self, schema: str = "public") -> list[str]:
        return [r[0] for r in self.query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname", (schema,))]
