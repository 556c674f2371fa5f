"""Connections to a PostgreSQL server (the Harbor 1.6.0 target): settings, DSN, errors.

The only place besides the rest of ``migrator/postgres`` that knows psycopg (3).
One ``PgDatabase`` is one psycopg connection in autocommit mode, session time
zone UTC (as the MySQL side's ``time_zone = '+00:00'``, so that ``now()`` and
``CURRENT_TIMESTAMP`` defaults written by our own sessions agree with the
values copied from MySQL). Driver errors become ``MigratorError``s with a
one-line message that names the fix, with the exit codes the MySQL side uses.
"""
from __future__ import annotations

import contextlib
import dataclasses
import re
from typing import Any, Iterator, Sequence
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import psycopg
import psycopg.errors
from psycopg import sql

from ..errors import (AuthFailed, ConnectionFailed, DatabaseMissing, DataConflict, MigratorError,
                      MissingPrivileges, StepFailed, UsageError)

MASK = "***"
SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_PARAMS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "host", "port", "connect_timeout")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A string literal for statements that take no parameters (CREATE ROLE … PASSWORD).

    Doubling quotes is enough because ``standard_conforming_strings`` is on (the
    default since PostgreSQL 9.1): a backslash is an ordinary character.
    """
    if "\x00" in value:
        raise UsageError("a PostgreSQL string cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"


@dataclasses.dataclass(frozen=True)
class PgSettings:
    """Everything needed to reach one PostgreSQL database; ``repr`` never shows the password.

    ``host`` starting with ``/`` is a Unix socket directory (libpq's rule); the
    port then names the socket file ``.s.PGSQL.<port>`` in it.
    """

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str | None = dataclasses.field(default=None, repr=False)
    database: str = "registry"
    sslmode: str | None = None
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    connect_timeout: int = 10

    @classmethod
    def from_dsn(cls, dsn: str) -> "PgSettings":
        return cls(**parse_pg_dsn(dsn))

    @property
    def unix_socket_dir(self) -> str | None:
        return self.host if self.host.startswith("/") else None

    def with_database(self, database: str) -> "PgSettings":
        return dataclasses.replace(self, database=database)

    def describe(self) -> str:
        """Short human form used in messages: ``user@host:port/db``."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def masked_dsn(self) -> str:
        """The DSN to show a human: the password, if any, is replaced by ``***``."""
        return self._dsn(MASK if self.password else None)

    def dsn(self) -> str:
        """The DSN with the password in clear (for handing to another process, never to print)."""
        return self._dsn(quote(self.password, safe="") if self.password else None)

    def _dsn(self, password: str | None) -> str:
        auth = quote(self.user, safe="") + (":" + password if password else "")
        params: list[tuple[str, str]] = []
        if self.unix_socket_dir:
            where = ""
            params += [("host", self.host), ("port", str(self.port))]
        else:
            host = f"[{self.host}]" if ":" in self.host else self.host
            where = f"{host}:{self.port}"
        for name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            value = getattr(self, name)
            if value:
                params.append((name, value))
        query = "&".join(f"{k}={quote(v, safe='/')}" for k, v in params)
        return f"postgresql://{auth}@{where}/{quote(self.database, safe='')}" + ("?" + query if query else "")

    def psycopg_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host, "port": self.port, "user": self.user, "dbname": self.database,
            "connect_timeout": self.connect_timeout, "application_name": "harbor-migrate",
        }
        # What is left unset here, libpq takes from its own sources as psql does (~/.pgpass,
        # PGSSLMODE, …): a DBA's usual setup works, and nothing of ours reads them.
        if self.password is not None:
            kwargs["password"] = self.password
        for name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            value = getattr(self, name)
            if value:
                kwargs[name] = value
        return kwargs


def parse_pg_dsn(dsn: str) -> dict[str, Any]:
    """``postgresql://user[:password]@host:port/db?sslmode=…`` into PgSettings fields.

    Also ``postgres://`` and ``postgresql+psycopg://``; a socket directory as
    ``?host=/run/postgresql`` or percent-encoded in the host part. Returns only
    what the DSN states, so that defaults and precedence stay the caller's.
    """
    shown = mask_pg_dsn(dsn)
    try:
        url = urlsplit(dsn)
        port = url.port
    except ValueError:
        raise UsageError(f"cannot parse the DSN {shown!r}: expected postgresql://user:password@host:port/database") from None
    if url.scheme not in SCHEMES:
        raise UsageError(f"unsupported DSN scheme {url.scheme + '://' if url.scheme else shown!r}: "
                         "use postgresql:// (or postgres://, postgresql+psycopg://)")
    fields: dict[str, Any] = {}
    netloc_host = url.netloc.rpartition("@")[2]
    if netloc_host.startswith("["):
        host = netloc_host[1:].partition("]")[0]
    else:
        host = unquote(netloc_host.rpartition(":")[0] if port is not None else netloc_host)
    if host:
        fields["host"] = host
    if port is not None:
        fields["port"] = port
    if url.username:
        fields["user"] = unquote(url.username)
    if url.password is not None:
        fields["password"] = unquote(url.password)
    database = unquote(url.path.lstrip("/"))
    if "/" in database:
        raise UsageError(f"cannot parse the DSN {shown!r}: the path must be one database name")
    if database:
        fields["database"] = database
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        if key not in _PARAMS:
            raise UsageError(f"unknown DSN parameter {key!r}: known are {', '.join(_PARAMS)}")
        if key in ("port", "connect_timeout"):
            if not value.isdigit():
                raise UsageError(f"DSN parameter {key}={value!r} is not a number")
            fields[key] = int(value)
        elif key == "sslmode" and value not in SSLMODES:
            raise UsageError(f"sslmode={value!r} is not one of {', '.join(SSLMODES)}")
        else:
            fields[key] = value
    if "port" in fields and not 0 < fields["port"] < 65536:
        raise UsageError(f"port {fields['port']} in the DSN is out of range")
    return fields


def mask_pg_dsn(text: str) -> str:
    """Mask the password of any DSN-looking string (best effort, for messages)."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1" + MASK + "@", text)


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
