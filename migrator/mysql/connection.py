"""Connections to the user's server, and the facts about it that the upgrade depends on.

One ``Database`` is one PyMySQL connection in autocommit mode with a known
session: a tolerant-but-strict ``sql_mode`` (strict, yet zero dates allowed, so
old Harbor tables can be rebuilt), UTC, utf8mb4, and the server's own
``explicit_defaults_for_timestamp``. Driver errors become ``MigratorError``s
with a fix in the message.
"""
from __future__ import annotations

import contextlib
import dataclasses
import re
from typing import Any, Iterator, Sequence

import pymysql
import pymysql.err
import sqlalchemy
import sqlalchemy.exc
import sqlalchemy.pool

from ..errors import (AuthFailed, ConnectionFailed, DatabaseMissing, MigratorError,
                     MissingPrivileges, StepFailed)
from ..settings import ConnectionSettings

# Strict (truncation is an error, never silent data loss) but without
# NO_ZERO_DATE / NO_ZERO_IN_DATE, which stock Harbor tables violate, and without
# ANSI_QUOTES / ONLY_FULL_GROUP_BY, which our SQL does not need.
SESSION_SQL_MODE = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"

_CONNECTION_ERRORS = {2002, 2003, 2005, 2006, 2013, 2055, 2026}


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@dataclasses.dataclass(frozen=True)
class ServerInfo:
    """The server settings that change what the upgrade must do."""

    version: str
    flavour: str                  # "mariadb" or "mysql"
    version_tuple: tuple[int, int, int]
    explicit_defaults_for_timestamp: bool
    global_sql_mode: str
    db_charset: str
    db_collation: str
    default_engine: str
    lower_case_table_names: int
    require_primary_key: bool
    # " ROW_FORMAT=DYNAMIC" where the server cannot default to it (MySQL 5.6, MariaDB < 10.2
    # with Barracuda and large prefixes): the 1.5.x indexes need more than 767 bytes.
    row_format_clause: str = ""

    @property
    def label(self) -> str:
        return f"{'MariaDB' if self.flavour == 'mariadb' else 'MySQL'} {'.'.join(map(str, self.version_tuple))}"


def row_format_clause(variables: dict) -> str:
    """What new tables must state so that 1.5.x's long index keys fit (see ServerInfo)."""
    if "innodb_default_row_format" in variables:
        return ""  # MySQL 5.7.9+, MariaDB 10.2+: the default decides (pre-flight checks it)
    barracuda = str(variables.get("innodb_file_format", "")).lower() == "barracuda"
    large_prefix = str(variables.get("innodb_large_prefix", "OFF")).upper() in ("ON", "1")
    return " ROW_FORMAT=DYNAMIC" if barracuda and large_prefix else ""


def translate_error(exc: Exception, settings: ConnectionSettings | None = None) -> MigratorError:
    """Map a driver error to a one-line error naming the fix."""
    where = settings.describe() if settings else "the server"
    code = exc.args[0] if getattr(exc, "args", None) and isinstance(exc.args[0], int) else None
    text = str(exc.args[1]) if getattr(exc, "args", None) and len(exc.args) > 1 else str(exc)
    if code == 1045:
        return AuthFailed(f"access denied for {where}: check the user and password "
                          "(HARBOR_MIGRATE_PASSWORD, --password-file or the prompt)")
    if code == 1049:
        db = settings.database if settings else "?"
        return DatabaseMissing(f"database {db!r} does not exist on {where.rsplit('/', 1)[0]}: "
                               "check --database / the DSN path")
    if code in (1044, 1142, 1143, 1227, 1370):
        return MissingPrivileges(f"missing privilege on {where}: {text} — grant the privileges listed in "
                                 "docs/requirements-and-limitations.md")
    if isinstance(exc, pymysql.err.InterfaceError) or (code in (0, None) and not text.strip()):
        return ConnectionFailed(f"the connection to {where} is gone (lost or killed): check the server, then rerun "
                                "— the database is resumable")
    if code in _CONNECTION_ERRORS or isinstance(exc, (ConnectionError, OSError)):
        return ConnectionFailed(f"cannot reach {where}: {text} — check host, port, socket, TLS options and that the server runs")
    return StepFailed(f"server error {code}: {text}" if code else f"server error: {text}")


def wrap_connection(connection: Any, settings: ConnectionSettings) -> "Database":
    """Our ``Database`` on the PyMySQL connection inside a SQLAlchemy connection (alembic's
    CLI path), in autocommit and with our session settings, as ``connect`` gives it."""
    raw = connection.connection.dbapi_connection
    raw.autocommit(True)
    db = Database(raw, settings)
    db.prepare_session()
    return db


def sqlalchemy_error(exc: "sqlalchemy.exc.DBAPIError", settings: ConnectionSettings) -> MigratorError:
    """The error to report for a SQLAlchemy failure under alembic's runtime: when rolling back
    its per-revision transaction failed while an error of ours was on its way out (the
    connection was lost), that error; else the driver's error, translated."""
    seen = exc.__context__
    while seen is not None:
        if isinstance(seen, MigratorError):
            return seen
        seen = seen.__context__
    return translate_error(exc.orig, settings)


@contextlib.contextmanager
def sqlalchemy_connection(db: "Database") -> Iterator[Any]:
    """A SQLAlchemy connection over ``db``'s own session, for alembic's runtime: the same
    session settings, lock and statements as the rest of the run. The pool never closes or
    resets it; ``db`` stays open and usable afterwards."""
    engine = sqlalchemy.create_engine("mysql+pymysql://", creator=lambda: db.conn, poolclass=sqlalchemy.pool.StaticPool,
                                      pool_reset_on_return=None)
    try:
        connection = engine.connect()
    except sqlalchemy.exc.DBAPIError as exc:
        raise translate_error(exc.orig, db.settings) from None
    try:
        yield connection
    except sqlalchemy.exc.DBAPIError as exc:
        raise sqlalchemy_error(exc, db.settings) from exc
    finally:
        # Closing rolls back SQLAlchemy's transaction: on a connection that was lost that fails
        # too, and must not hide the error that got us here.
        with contextlib.suppress(Exception):
            connection.close()


def connect(settings: ConnectionSettings) -> "Database":
    try:
        conn = pymysql.connect(**settings.pymysql_kwargs())
    except pymysql.err.MySQLError as exc:
        raise translate_error(exc, settings) from None
    except (OSError, ValueError) as exc:
        raise ConnectionFailed(f"cannot reach {settings.describe()}: {exc}") from None
    db = Database(conn, settings)
    db.prepare_session()
    return db


def connect_server(settings: ConnectionSettings, **driver_options: Any) -> "Database":
    """A session on ``settings``' server with no database selected and the server's own session
    settings (no ``prepare_session``): for CREATE DATABASE before the database exists, readiness
    probes and server-wide statements, so that no module outside this adapter needs the driver.
    ``driver_options`` go to the driver as given (e.g. a shorter ``connect_timeout``). Errors
    name ``settings`` as ``connect`` does."""
    try:
        conn = pymysql.connect(**{**settings.with_database("").pymysql_kwargs(), "database": None,
                                  **driver_options})
    except pymysql.err.MySQLError as exc:
        raise translate_error(exc, settings) from None
    except (OSError, ValueError) as exc:
        raise ConnectionFailed(f"cannot reach {settings.describe()}: {exc}") from None
    return Database(conn, settings)


class Database:
    """A thin, explicit wrapper: execute, query, transactions, server facts."""

    def __init__(self, conn: "pymysql.connections.Connection", settings: ConnectionSettings):
        self.conn = conn
        self.settings = settings
        self.name = settings.database
        self._info: ServerInfo | None = None

    # -- session -----------------------------------------------------------------
    def prepare_session(self) -> None:
        self.execute(f"SET SESSION sql_mode = '{SESSION_SQL_MODE}'")
        self.execute("SET SESSION time_zone = '+00:00'")
        self.execute("SET SESSION lock_wait_timeout = 120")
        # DDL we render is fully explicit, but keep the session's timestamp rules
        # equal to the server's so that any implicit rule matches a fresh load.
        with contextlib.suppress(MigratorError):
            self.execute("SET SESSION explicit_defaults_for_timestamp = @@GLOBAL.explicit_defaults_for_timestamp")
        with contextlib.suppress(MigratorError):  # MySQL 8 caches table statistics (AUTO_INCREMENT)
            self.execute("SET SESSION information_schema_stats_expiry = 0")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connection_id(self) -> int:
        return int(self.scalar("SELECT CONNECTION_ID()"))

    # -- statements --------------------------------------------------------------
    def execute(self, sql: str, args: Sequence[Any] | None = None) -> int:
        try:
            with self.conn.cursor() as cur:
                return cur.execute(sql, args)
        except pymysql.err.MySQLError as exc:
            raise translate_error(exc, self.settings) from exc

    def query(self, sql: str, args: Sequence[Any] | None = None) -> list[tuple]:
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        except pymysql.err.MySQLError as exc:
            raise translate_error(exc, self.settings) from exc

    def query_dicts(self, sql: str, args: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        try:
            with self.conn.cursor(pymysql.cursors.DictCursor) as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        except pymysql.err.MySQLError as exc:
            raise translate_error(exc, self.settings) from exc

    def scalar(self, sql: str, args: Sequence[Any] | None = None) -> Any:
        rows = self.query(sql, args)
        return rows[0][0] if rows else None

    def stream(self, sql: str, args: Sequence[Any] | None = None, batch: int = 5000) -> Iterator[tuple]:
        """Rows without holding the result in memory (server-side cursor)."""
        try:
            with self.conn.cursor(pymysql.cursors.SSCursor) as cur:
                cur.execute(sql, args)
                while True:
                    rows = cur.fetchmany(batch)
                    if not rows:
                        break
                    yield from rows
        except pymysql.err.MySQLError as exc:
            raise translate_error(exc, self.settings) from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator["Database"]:
        self.execute("START TRANSACTION")
        try:
            yield self
        except BaseException:
            with contextlib.suppress(Exception):
                self.conn.rollback()
            raise
        else:
            self.execute("COMMIT")

    # -- facts -------------------------------------------------------------------
    def server_info(self) -> ServerInfo:
        if self._info is None:
            self._info = self._read_server_info()
        return self._info

    def _read_server_info(self) -> ServerInfo:
        version = str(self.scalar("SELECT VERSION()"))
        flavour = "mariadb" if "mariadb" in version.lower() else "mysql"
        nums = [int(x) for x in re.findall(r"\d+", version.split("-")[0])[:3]] + [0, 0, 0]
        variables = dict(self.query(
            "SHOW GLOBAL VARIABLES WHERE Variable_name IN ("
            "'explicit_defaults_for_timestamp','sql_mode','default_storage_engine',"
            "'lower_case_table_names','sql_require_primary_key','innodb_force_primary_key',"
            "'innodb_default_row_format','innodb_file_format','innodb_large_prefix')"))
        row = self.query(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
            "WHERE SCHEMA_NAME = %s", (self.name,))
        charset, collation = row[0] if row else ("utf8", "utf8_general_ci")
        return ServerInfo(
            version=version,
            flavour=flavour,
            version_tuple=tuple(nums[:3]),  # type: ignore[arg-type]
            explicit_defaults_for_timestamp=str(variables.get("explicit_defaults_for_timestamp", "OFF")).upper() in ("ON", "1"),
            global_sql_mode=str(variables.get("sql_mode", "")),
            db_charset=charset,
            db_collation=collation,
            default_engine=str(variables.get("default_storage_engine", "InnoDB")),
            lower_case_table_names=int(variables.get("lower_case_table_names", 0) or 0),
            require_primary_key=any(str(variables.get(k, "OFF")).upper() in ("ON", "1")
                                    for k in ("sql_require_primary_key", "innodb_force_primary_key")),
            row_format_clause=row_format_clause(variables),
        )

    def table_names(self) -> list[str]:
        return [r[0] for r in self.query(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
            "ORDER BY TABLE_NAME", (self.name,))]

    def has_table(self, table: str) -> bool:
        return bool(self.scalar(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (self.name, table)))

    def column_names(self, table: str) -> list[str]:
        return [r[0] for r in self.query(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
            "ORDER BY ORDINAL_POSITION", (self.name, table))]
