"""Pre-flight of the move to Harbor 1.6.0 (issue 16): named checks on both sides, read-only.

The PostgreSQL target first (version, privileges, empty, encoding, time zone, free
space), then the MySQL source's rows that 1.6.0 cannot hold, each named with its
rows' ids. A registry of its own (``MOVE_CHECKS``), not the MySQL pre-flight's: these
checks need both connections, and the MySQL upgrade's pre-flight must not run them.
The verdict helpers are the MySQL pre-flight's (``context.ok/warn/fail``).
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Callable

from ..errors import ExitCode
from ..move.conversions import ZERO_DATE
from ..move.state import TargetState
from ..mysql.connection import Database, quote_ident as q
from ..postgres.connection import PgDatabase
from ..postgres.settings import quote_ident as pq
from ..verdicts import Check, Verdict
from .context import fail, ok, warn

# Harbor 1.6.0 shipped PostgreSQL 9.6 (harbor-facts §2.9); older servers lack what its schema uses.
MIN_PG_VERSION = (90600, "9.6")
PROPERTIES_V_MAX = 128          # properties.v is varchar(128) in 1.6.0
SHOWN = 10                      # ids named per finding; the count says how many more


@dataclasses.dataclass
class MoveContext:
    db: Database                # the MySQL source, in a read-only session
    pg: PgDatabase              # the PostgreSQL target
    target: TargetState         # what the target holds now
    tables: list[str]           # the source's tables


CheckFn = Callable[[MoveContext], Check]
MOVE_CHECKS: dict[str, CheckFn] = {}


def move_check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register a check under ``name``; checks run in the order they are defined."""
    def register(fn: CheckFn) -> CheckFn:
        @functools.wraps(fn)
        def named(ctx: MoveContext) -> Check:
            return dataclasses.replace(fn(ctx), name=name)
        MOVE_CHECKS[name] = named
        return named
    return register


def run_move_checks(ctx: MoveContext) -> list[Check]:
    return [fn(ctx) for fn in MOVE_CHECKS.values()]


def _ids(ids: list) -> str:
    shown = ", ".join(str(i) for i in ids[:SHOWN])
    return shown + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")


# -- the PostgreSQL target ---------------------------------------------------------------------
@move_check("target_version")
def check_target_version(ctx: MoveContext) -> Check:
    return judge_version(ctx.pg.server_version_num, ctx.pg.server_version)


def judge_version(num: int, version: str) -> Check:
    """The verdict on a server reporting ``num`` (libpq's number, 90600 for 9.6) and ``version``."""
    if num < MIN_PG_VERSION[0]:
        return fail(f"PostgreSQL {version} is older than {MIN_PG_VERSION[1]}, the oldest Harbor 1.6.0 runs on: "
                    "use a newer server", version=version)
    return ok(f"PostgreSQL {version}", version=version)


@move_check("target_privileges")
def check_target_privileges(ctx: MoveContext) -> Check:
    user = ctx.pg.settings.user
    can_schema = bool(ctx.pg.scalar("SELECT has_schema_privilege(current_user, 'public', 'CREATE')"))
    can_db = bool(ctx.pg.scalar("SELECT has_database_privilege(current_user, current_database(), 'CREATE')"))
    if not can_schema:
        return fail(f"{user} may not create tables in schema public — GRANT CREATE ON SCHEMA public TO {pq(user)}; "
                    f"(better: make {pq(user)}, Harbor's account, the owner of the database and of schema public)",
                    exit_code=ExitCode.PRIVILEGES)
    return ok(f"{user} may create in schema public" + ("" if can_db else " (not schemas in the database: "
                                                           "not needed)"))


@move_check("target_empty")
def check_target_empty(ctx: MoveContext) -> Check:
    t = ctx.target
    if t.state == "empty":
        return ok(f"{ctx.pg.settings.describe()} is empty")
    if t.state == "moving":
        return ok(f"holds a half-done move ({len(t.finished)} table(s) finished): upgrade resumes it",
                  finished=t.finished)
    return fail(f"{ctx.pg.settings.describe()} is not empty ({t.message}): move into an empty database, or pass "
                "--force-target to upgrade to drop Harbor's 1.6.0 tables there first", exit_code=ExitCode.TARGET_NOT_EMPTY)


@move_check("target_encoding")
def check_target_encoding(ctx: MoveContext) -> Check:
    enc = ctx.pg.scalar("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
    # A SQL_ASCII database hands text out as bytes (the driver cannot know their encoding).
    enc = enc.decode("ascii", "replace") if isinstance(enc, bytes) else str(enc)
    if enc != "UTF8":
        return fail(f"the database's encoding is {enc}: Harbor's names are Unicode — create it with ENCODING 'UTF8' "
                    "(CREATE DATABASE … ENCODING 'UTF8' TEMPLATE template0)", encoding=enc)
    return ok("encoding UTF8", encoding=enc)


@move_check("target_time_zone")
def check_target_time_zone(ctx: MoveContext) -> Check:
    # Report only: the move writes timestamps without time zone, so no TimeZone shifts them.
    tz = ctx.pg.scalar("SELECT setting FROM pg_settings WHERE name = 'TimeZone'")
    return ok(f"server TimeZone {tz} (timestamps move unshifted, whatever it is)", time_zone=tz)


@move_check("target_free_space")
def check_target_free_space(ctx: MoveContext) -> Check:
    # PostgreSQL tells no client the free space of its disk; what we can say is how much comes.
    size = int(ctx.db.scalar("SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES "
                             "WHERE TABLE_SCHEMA = DATABASE()") or 0)
    now = int(ctx.pg.scalar("SELECT pg_database_size(current_database())") or 0)
    return ok(f"the source holds about {size // 2**20} MiB (data and indexes); expect about as much on the "
              f"target (now {now // 2**20} MiB): its free space is for the DBA to check", source_bytes=size,
              target_bytes=now)


# -- the MySQL source: rows 1.6.0 cannot hold ------------------------------------------------------
def _columns(ctx: MoveContext, table: str) -> list[tuple[str, str, str | None]]:
    return [(r[0], r[1], r[2]) for r in ctx.db.query(
        "SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_SET_NAME FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (table,))]


def _key(ctx: MoveContext, table: str) -> str | None:
    cols = [r[0] for r in ctx.db.query(
        "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() "
        "AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION", (table,))]
    return cols[0] if cols else None


@move_check("long_properties")
def check_long_properties(ctx: MoveContext) -> Check:
    if "properties" not in ctx.tables:
        return ok("no properties table")
    key = "id" if "id" in [c[0] for c in _columns(ctx, "properties")] else "k"   # id since 1.5.0
    rows = ctx.db.query(f"SELECT {key}, k, CHAR_LENGTH(v) FROM properties WHERE CHAR_LENGTH(v) > {PROPERTIES_V_MAX} "
                        "ORDER BY 1")
    if rows:
        return fail(f"{len(rows)} properties value(s) longer than {PROPERTIES_V_MAX} characters, which 1.6.0's "
                    f"varchar({PROPERTIES_V_MAX}) cannot hold ({key}s {_ids([r[0] for r in rows])}): shorten them",
                    [f"properties {key} {i} ({k}): {n} characters" for i, k, n in rows[:SHOWN]],
                    exit_code=ExitCode.DATA_CONFLICT, ids=[r[0] for r in rows])
    return ok(f"every properties value fits varchar({PROPERTIES_V_MAX})")


@move_check("duplicate_digests")
def check_duplicate_digests(ctx: MoveContext) -> Check:
    if "img_scan_overview" not in ctx.tables:
        return ok("no img_scan_overview table")
    rows = ctx.db.query("SELECT image_digest, GROUP_CONCAT(id ORDER BY id) FROM img_scan_overview "
                        "GROUP BY image_digest HAVING COUNT(*) > 1 ORDER BY image_digest")
    if rows:
        return fail(f"{len(rows)} image_digest value(s) on more than one img_scan_overview row: 1.6.0 keeps "
                    "image_digest UNIQUE (goharbor/harbor#6550) — delete all but one row of each (the scan is "
                    "redone by Harbor)", [f"img_scan_overview ids {ids}: image_digest {d}" for d, ids in rows[:SHOWN]],
                    exit_code=ExitCode.DATA_CONFLICT, digests={d: ids for d, ids in rows})
    return ok("every image_digest is unique")


@move_check("zero_dates")
def check_zero_dates(ctx: MoveContext) -> Check:
    found: list[str] = []
    for table in ctx.tables:
        key = _key(ctx, table)
        for col, dtype, _ in _columns(ctx, table):
            if dtype not in ("timestamp", "datetime"):
                continue
            ids = [r[0] for r in ctx.db.query(f"SELECT {q(key) if key else 'NULL'} FROM {q(table)} "
                                              f"WHERE {q(col)} = '{ZERO_DATE}' ORDER BY 1")]
            if ids:
                found.append(f"{table}.{col}: {len(ids)} row(s)" + (f" ({key} {_ids(ids)})" if key else ""))
    if found:
        return warn(f"zero dates in {len(found)} column(s): they become 0001-01-01 00:00:00, as Harbor's own "
                    "converter writes them", found)
    return ok("no zero dates")


@move_check("invalid_text")
def check_invalid_text(ctx: MoveContext) -> Check:
    """Text PostgreSQL's UTF8 refuses: a NUL character anywhere, or bytes that are not UTF-8 in a column
    declared utf8 (possible after a client wrote with the wrong character set)."""
    found: list[str] = []
    for table in ctx.tables:
        key = _key(ctx, table)
        conds = []
        for col, dtype, charset in _columns(ctx, table):
            if charset is None:
                continue
            c = q(col)
            conds.append(f"LOCATE(X'00', CAST({c} AS BINARY)) > 0")
            if charset.startswith("utf8"):
                conds.append(f"CAST(CONVERT(CAST({c} AS BINARY) USING utf8mb4) AS BINARY) <> CAST({c} AS BINARY)")
        if not conds:
            continue
        ids = [r[0] for r in ctx.db.query(f"SELECT {q(key) if key else 'NULL'} FROM {q(table)} WHERE "
                                          + " OR ".join(conds) + " ORDER BY 1")]
        if ids:
            found.append(f"{table}: {len(ids)} row(s)" + (f" ({key} {_ids(ids)})" if key else ""))
    if found:
        return fail(f"text PostgreSQL cannot hold (NUL characters or invalid UTF-8) in {len(found)} table(s): "
                    "correct those values first", found, exit_code=ExitCode.DATA_CONFLICT)
    return ok("all text is valid UTF-8 without NUL characters")


def failing(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == Verdict.FAIL]
