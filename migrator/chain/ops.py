"""Operations: the units a revision is made of, each with a probe.

An operation knows whether it still has work to do (``pending``), which SQL
does that work given the schema as it is now (``sql``), and what the schema
looks like after it (``simulate``, so that ``plan`` can render the whole chain
without touching anything). Every operation can be rerun after an
interruption at any point: ALTERs are computed from the live catalog, data
moves either run in one transaction or only add what is missing, and the
access_log copy is redone from scratch until its atomic swap.
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Callable, Iterable

from ..mysql.connection import Database, ServerInfo, quote_ident as q
from ..errors import MigratorError
from . import revisions as chain
from ..schema.diff import TableChange, converge_table
from ..schema.model import Schema, Table, render_create
from ..schema.introspect import introspect


@dataclasses.dataclass
class StepContext:
    """What operations read: the connection (absent when only planning), the
    server facts, the schema as it is now, and the revision's expected schema."""

    info: ServerInfo
    schema: Schema
    target: Schema
    db: Database | None = None
    with_admiral: bool = False
    copy_chunk_rows: int = 0          # 0: one INSERT ... SELECT
    # Tables an operation has run on since ``schema`` last read them (the run holds the lock
    # and no other client is connected, so nothing else changes the catalog).
    changed: set[str] = dataclasses.field(default_factory=set)

    def live(self, table: str) -> Table | None:
        return self.schema.table(table)

    def ran(self, tables: Iterable[str]) -> None:
        """Note that an operation ran (or began) on ``tables``: their catalog is to be read again."""
        self.changed.update(tables)

    def refresh(self, tables: Iterable[str]) -> None:
        """Read from the catalog those of ``tables`` that changed since they were read."""
        assert self.db is not None
        names = [t for t in tables if t in self.changed]
        if not names:
            return
        fresh = introspect(self.db, names)
        merged = {n: t for n, t in self.schema.tables.items() if n not in names}
        merged.update(fresh.tables)
        self.schema = Schema(merged)
        self.changed.difference_update(names)

    def count(self, sql: str) -> int:
        assert self.db is not None
        return int(self.db.scalar(sql) or 0)


class Op:
    """Base operation. ``kind`` is ddl, data or copy; ``tables`` what it touches."""

    kind = "ddl"
    name = "operation"
    tables: tuple[str, ...] = ()
    transactional = False

    def pending(self, ctx: StepContext) -> bool:
        raise NotImplementedError

    def sql(self, ctx: StepContext) -> list[str]:
        raise NotImplementedError

    def simulate(self, ctx: StepContext) -> None:
        """Update ``ctx.schema`` as if the operation had run."""

    def checks(self, ctx: StepContext) -> list[tuple[str, str]]:
        """(what, SQL counting rows that would break the operation)."""
        return []

    def rewrites(self, ctx: StepContext) -> bool:
        """Whether running it rebuilds a table (costly on MySQL 5.6/5.7)."""
        return False

    def script(self, ctx: StepContext) -> list[str]:
        """Every statement as it is sent, transaction markers included (for ``plan --sql``)."""
        statements = self.sql(ctx)
        return ["START TRANSACTION", *statements, "COMMIT"] if self.transactional else statements

    def run(self, ctx: StepContext) -> None:
        assert ctx.db is not None
        execute_all(ctx.db, self.sql(ctx), self.transactional)


def execute_all(db: Database, statements: list[str], transactional: bool) -> None:
    """Run statements in order, in one transaction when asked (a rollback leaves nothing half-moved)."""
    if transactional:
        with db.transaction():
            for s in statements:
                db.execute(s)
    else:
        for s in statements:
            db.execute(s)


def _set_table(ctx: StepContext, table: Table) -> None:
    tables = dict(ctx.schema.tables)
    tables[table.name] = table
    ctx.schema = Schema(tables)


class Converge(Op):
    """Create a table, or ALTER it, until it is exactly the revision's model."""

    def __init__(self, table: str, renames: dict[str, str] | None = None, fills: dict[str, str] | None = None,
                 why: str = ""):
        self.table = table
        self.tables = (table,)
        self.renames = renames or {}
        self.fills = fills or {}
        self.why = why
        self.name = f"{table}: {why}" if why else f"{table}: match the revision's definition"

    def _want(self, ctx: StepContext) -> Table:
        return ctx.target.tables[self.table]

    def change(self, ctx: StepContext) -> TableChange | None:
        live = ctx.live(self.table)
        if live is None:
            return None
        return converge_table(live, self._want(ctx), self.renames, self.fills)

    def pending(self, ctx: StepContext) -> bool:
        change = self.change(ctx)
        return change is None or not change.empty

    def sql(self, ctx: StepContext) -> list[str]:
        change = self.change(ctx)
        if change is None:
            return [render_create(self._want(ctx), ctx.info.db_charset, ctx.info.db_collation,
                                  row_format=ctx.info.row_format_clause)]
        return change.statements()

    def checks(self, ctx: StepContext) -> list[tuple[str, str]]:
        change = self.change(ctx)
        return change.checks if change else []

    def rewrites(self, ctx: StepContext) -> bool:
        change = self.change(ctx)
        return bool(change and change.rebuilds)

    def simulate(self, ctx: StepContext) -> None:
        _set_table(ctx, self._want(ctx))


class DataMove(Op):
    """Set-based SQL on the server; ``probe`` counts the rows still to move."""

    kind = "data"

    def __init__(self, name: str, tables: tuple[str, ...], probe: Callable[[StepContext], str | None],
                 statements: Callable[[StepContext], list[str]], transactional: bool = True,
                 fills: tuple[str, ...] = (), renumbers: tuple[str, ...] = ()):
        self.name = name
        self.tables = tables
        self._probe = probe
        self._statements = statements
        self.transactional = transactional
        self.fills = fills
        # Tables whose keys the move renumbers: foreign keys are not checked while it
        # runs (children follow by the same rule inside the transaction), and their
        # AUTO_INCREMENT counters are reset to MAX+1 afterwards.
        self.renumbers = renumbers

    def pending(self, ctx: StepContext) -> bool:
        sql = self._probe(ctx)
        return sql is not None and ctx.count(sql) > 0

    def has_probe(self, ctx: StepContext) -> bool:
        """Whether the tables this move reads are there to probe (else it is neither done nor due)."""
        return self._probe(ctx) is not None

    def _counter_resets(self) -> list[str]:
        # An interrupted insert still consumes AUTO_INCREMENT values; resetting the
        # counter of the tables we fill (to MAX(id)+1) makes a rerun give the ids an
        # uninterrupted run gives. A metadata-only ALTER, so outside the transaction.
        return [f"ALTER TABLE {q(t)} AUTO_INCREMENT = 1" for t in self.fills]

    def sql(self, ctx: StepContext) -> list[str]:
        return self._counter_resets() + self._statements(ctx)

    def _session(self) -> tuple[list[str], list[str]]:
        if not self.renumbers:
            return [], []
        return (["SET SESSION foreign_key_checks = 0"],
                ["SET SESSION foreign_key_checks = 1"] + [f"ALTER TABLE {q(t)} AUTO_INCREMENT = 1" for t in self.renumbers])

    def script(self, ctx: StepContext) -> list[str]:
        body = self._statements(ctx)
        before, after = self._session()
        return (self._counter_resets() + before + (["START TRANSACTION", *body, "COMMIT"] if self.transactional
                                                   else body) + after)

    def run(self, ctx: StepContext) -> None:
        assert ctx.db is not None
        before, after = self._session()
        for s in self._counter_resets() + before:
            ctx.db.execute(s)
        try:
            execute_all(ctx.db, self._statements(ctx), self.transactional)
        finally:
            if before:
                with contextlib.suppress(MigratorError):  # never hide the error that got us here
                    ctx.db.execute("SET SESSION foreign_key_checks = 1")
        for s in after:
            ctx.db.execute(s)


class DropTable(Op):
    """Drop a table the revision removes (only once what it held has been moved)."""

    def __init__(self, table: str, why: str):
        self.table = table
        self.tables = (table,)
        self.name = f"{table}: drop ({why})"

    def pending(self, ctx: StepContext) -> bool:
        return ctx.live(self.table) is not None

    def sql(self, ctx: StepContext) -> list[str]:
        return [f"DROP TABLE {q(self.table)}"]

    def simulate(self, ctx: StepContext) -> None:
        ctx.schema = Schema({n: t for n, t in ctx.schema.tables.items() if n != self.table})


class Stamp(Op):
    """Record the revision in alembic_version, as alembic's runtime does after the revision's
    operations: the row of the revision before is updated (the first revision after the base,
    0.1.1, inserts the row). The runtime stamps; the loop does not run this operation, so it is
    here to show the exact statement in ``plan`` and its ``--sql`` script, and to probe."""

    kind = "stamp"

    def __init__(self, revision: str):
        self.revision = revision
        self.name = f"alembic_version: stamp {revision}"
        self.tables = ("alembic_version",)

    def pending(self, ctx: StepContext) -> bool:
        assert ctx.db is not None
        if ctx.live("alembic_version") is None:
            return True  # created earlier in this step (0.1.1), or by the plan being rendered
        rows = ctx.db.query("SELECT version_num FROM alembic_version")
        return [r[0] for r in rows] != [self.revision]

    def sql(self, ctx: StepContext) -> list[str]:
        before = chain.ORDER[chain.index(self.revision) - 1]
        if before == chain.BASE:
            return [f"INSERT INTO alembic_version (version_num) VALUES ('{self.revision}')"]
        return [f"UPDATE alembic_version SET version_num = '{self.revision}' WHERE version_num = '{before}'"]


class RebuildAccessLog(Op):
    """access_log in its 1.2.0+ shape with one set-based copy and an atomic swap.

    Harbor's 1.2.0 adds ``username`` at the end, fills it with one UPDATE per
    user in a single transaction (resetting the auto-updating ``op_time`` and
    sending names through the client), then drops ``user_id``: on MySQL 5.6
    that is two table copies plus a full-table UPDATE. Here the new table is
    built in its final shape (``username`` second), filled by one INSERT ...
    SELECT in log_id order with ``op_time`` copied as is and each row's name
    picked from a list of ``user``'s names (or joined to ``user``, see
    ``_names``), its secondary index built after the load, and swapped in with
    one RENAME TABLE. Until the swap the old table is untouched, so an
    interruption just means starting the copy again.
    """

    kind = "copy"
    name = "access_log: rebuild with username (one copy, atomic swap)"
    tables = ("access_log", "access_log__hm_new", "access_log__hm_old", "user")
    NEW = "access_log__hm_new"
    OLD = "access_log__hm_old"

    def pending(self, ctx: StepContext) -> bool:
        live = ctx.live("access_log")
        leftovers = ctx.live(self.NEW) is not None or ctx.live(self.OLD) is not None
        return leftovers or (live is not None and live.column("user_id") is not None)

    def rewrites(self, ctx: StepContext) -> bool:
        return True

    def checks(self, ctx: StepContext) -> list[tuple[str, str]]:
        return []

    def sql(self, ctx: StepContext) -> list[str]:
        live = ctx.live("access_log")
        if live is None or live.column("user_id") is None:
            # Swapped already; only the old copy may be left.
            return [f"DROP TABLE IF EXISTS {q(self.OLD)}", f"DROP TABLE IF EXISTS {q(self.NEW)}"]
        want = ctx.target.tables["access_log"]
        charset, collation = self._table_charset(ctx)
        create = render_create(want, charset, collation, indexes=False, foreign_keys=False, name=self.NEW,
                               row_format=ctx.info.row_format_clause)
        secondary = [i for i in want.indexes if not i.primary]
        cols = [c.name for c in want.columns]
        names = self._names(ctx)
        username = f"COALESCE({names or 'u.`username`'}, '')"
        select_cols = ["a." + q(c) if c != "username" else username for c in cols]
        insert = (f"INSERT INTO {q(self.NEW)} ({', '.join(q(c) for c in cols)})\n"
                  f"SELECT {', '.join(select_cols)}\n"
                  + ("FROM `access_log` a" if names else
                     "FROM `access_log` a LEFT JOIN `user` u ON u.`user_id` = a.`user_id`"))
        statements = [f"DROP TABLE IF EXISTS {q(self.NEW)}", create]
        if ctx.copy_chunk_rows and ctx.db is not None:
            lo, hi = ctx.db.query("SELECT COALESCE(MIN(log_id), 0), COALESCE(MAX(log_id), 0) FROM access_log")[0]
            start = int(lo) - 1
            while start < int(hi):
                end = start + ctx.copy_chunk_rows
                statements.append(f"{insert}\nWHERE a.`log_id` > {start} AND a.`log_id` <= {end}\nORDER BY a.`log_id`")
                start = end
        else:
            statements.append(f"{insert}\nORDER BY a.`log_id`")
        auto = self._auto_increment(ctx)
        # In place: building an index never copies rows, on MySQL 5.6 as on newer servers (and a
        # session asking for COPY ALTERs, to imitate 5.6's column changes, must not make it one).
        statements.append(f"ALTER TABLE {q(self.NEW)} " + ", ".join(
            ["ADD " + i.clause() for i in secondary] + ([f"AUTO_INCREMENT = {auto}"] if auto else [])
            + ["ALGORITHM=INPLACE"]))
        statements.append(f"RENAME TABLE `access_log` TO {q(self.OLD)}, {q(self.NEW)} TO `access_log`")
        statements.append(f"DROP TABLE {q(self.OLD)}")
        return statements

    NAMES_MAX_BYTES = 4 << 20

    def _names(self, ctx: StepContext) -> str | None:
        """``ELT(a.user_id, name1, name2, …)``: every user's name at its id's position, as a hex
        literal in the column's charset (exact bytes, whatever the sql_mode; NULL where no user
        has the id or the name is NULL, which COALESCE turns into '' as the LEFT JOIN does).

        Picking an argument by number costs the load less than searching ``user``'s index for
        every row (docs/benchmarks.md, "Kept: the names as a list"). None, and the join
        instead, when there is no connection (rendering), the copy goes in chunks (the list
        would travel with every chunk), an id is below 1, ``username`` is not a character
        column, or the list would pass a quarter of max_allowed_packet or 4 MiB."""
        db = ctx.db
        if db is None or ctx.copy_chunk_rows:
            return None
        charset = db.scalar("SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                            "AND TABLE_NAME = 'user' AND COLUMN_NAME = 'username'", (db.name,))
        lo, hi = db.query("SELECT MIN(user_id), MAX(user_id) FROM user")[0]
        budget = min(self.NAMES_MAX_BYTES, int(db.scalar("SELECT @@max_allowed_packet")) // 4)
        if not charset or lo is None or int(lo) < 1 or int(hi) * len("NULL, ") > budget:
            return None
        hexes = dict(db.query("SELECT user_id, HEX(username) FROM user"))
        args = [f"_{charset} X'{hexes[i]}'" if hexes.get(i) is not None else "NULL" for i in range(1, int(hi) + 1)]
        expression = f"ELT(a.`user_id`, {', '.join(args)})"
        return expression if len(expression) <= budget else None

    def _table_charset(self, ctx: StepContext) -> tuple[str, str]:
        """Keep the old table's charset: the copy must not convert a single byte."""
        collation = (ctx.live("access_log").collation if ctx.live("access_log") else None) or ctx.info.db_collation
        if ctx.db is not None:
            row = ctx.db.query("SELECT CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLLATIONS "
                               "WHERE COLLATION_NAME = %s OR COLLATION_NAME = %s",
                               (collation, collation.replace("utf8_", "utf8mb3_")))
            if row:
                return row[0][0], row[0][1]
        return ctx.info.db_charset, ctx.info.db_collation

    def _auto_increment(self, ctx: StepContext) -> int | None:
        """Keep the counter, so ids of deleted tail rows are never reused."""
        if ctx.db is None:
            return None
        value = ctx.db.scalar("SELECT AUTO_INCREMENT FROM information_schema.TABLES "
                              "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'access_log'", (ctx.db.name,))
        return int(value) if value else None

    SESSION_ON = ["SET SESSION foreign_key_checks = 0", "SET SESSION unique_checks = 0"]
    SESSION_OFF = ["SET SESSION unique_checks = 1", "SET SESSION foreign_key_checks = 1"]

    def script(self, ctx: StepContext) -> list[str]:
        return self.SESSION_ON + self.sql(ctx) + self.SESSION_OFF

    def run(self, ctx: StepContext) -> None:
        assert ctx.db is not None
        db = ctx.db
        for s in self.SESSION_ON:
            db.execute(s)
        try:
            for s in self.sql(ctx):
                db.execute(s)
        finally:
            with contextlib.suppress(MigratorError):  # never hide the error that got us here
                for s in self.SESSION_OFF:
                    db.execute(s)

    def simulate(self, ctx: StepContext) -> None:
        _set_table(ctx, ctx.target.tables["access_log"])
