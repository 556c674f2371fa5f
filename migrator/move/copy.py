"""The move: a Harbor 1.5.0 database on MySQL copied into an empty PostgreSQL as Harbor 1.6.0.

``move_database`` reads as its phases:

1. the target: refused when it holds anything (``TargetNotEmpty``) unless ``force``,
   which drops Harbor's 1.6.0 names there first; a target holding our state
   table is a move to resume. The state table and the tables (phase ``tables`` of
   ``target_schema``) are created in one transaction: either both exist or neither.
2. the source, in one consistent, read-only snapshot: at revision 1.5.0, with
   exactly the columns ``conversions`` expects (MySQL is never written).
3. every table, in one PostgreSQL transaction each: ``TRUNCATE``, ``COPY`` of the
   rows as COPY text that MySQL renders (``conversions.copy_line_sql``), streamed
   in batches from a server-side cursor, and the table's
   row in the state table. A move killed anywhere leaves each table either
   finished (recorded) or untouched; a rerun keeps the finished ones whose row
   count still matches and redoes the rest.
4. the end, in one transaction: unique constraints, indexes, foreign keys,
   triggers (phase ``after_load``), every sequence continuing after both the
   highest id and the old AUTO_INCREMENT (ids MySQL handed out and lost, such
   as deleted access_log rows, are not handed out again), and the state table
   dropped. The database is then exactly a fresh 1.6.0 schema holding the data.
"""
from __future__ import annotations

import contextlib
import dataclasses
import queue
import threading
import time
from typing import Callable, Iterator

from ..errors import Locked, TargetNotEmpty, UnknownVersion
from ..mysql.stream import SnapshotReader
from ..postgres.connection import PgDatabase, connect_pg
from ..postgres.settings import PgSettings
from ..settings import ConnectionSettings
from . import conversions as conv
from .target_schema import TABLES, TRIGGER_FUNCTION, phase_after_load, phase_tables

Progress = Callable[[str], None]

STATE_TABLE = "harbor_migrate_move"
STATE_DDL = (f"CREATE TABLE {STATE_TABLE} (table_name varchar(64) PRIMARY KEY, rows bigint NOT NULL, "
             "finished_at timestamp NOT NULL DEFAULT now())")
# One move per target database at a time (pg_try_advisory_lock's key; any constant will do).
LOCK_KEY = 0x68617262_6f72
INT_MAX = 2 ** 31 - 1
# Chunks (batch_rows lines each) read ahead of the COPY: enough to keep both sides busy.
QUEUE_DEPTH = 8


@dataclasses.dataclass
class MoveResult:
    rows: dict[str, int]                       # target table -> rows it holds
    kept: list[str]                            # tables an earlier run had finished, kept as they were
    resumed: bool                              # the target held a move to resume
    next_ids: dict[str, int]                   # sequence -> the id it hands out next
    seconds: float
    table_seconds: dict[str, float] = dataclasses.field(default_factory=dict)  # tables this run copied


def move_database(source: ConnectionSettings, target: PgSettings, progress: Progress = lambda _: None, *,
                  force: bool = False, batch_rows: int = 5000, report_every: int = 100_000) -> MoveResult:
    """Move the 1.5.0 database ``source`` into the PostgreSQL database ``target``; see the module docstring.

    ``progress`` gets one line per finished table and one every ``report_every``
    rows of a table being copied; an exception it raises stops the move there,
    resumably.
    """
    started = time.monotonic()
    with SnapshotReader(source) as reader, connect_pg(target) as pg:
        check_source(reader)            # before the target is touched: a wrong source changes nothing
        _lock(pg)
        finished, resumed = prepare_target(pg, force)
        rows: dict[str, int] = {}
        kept: list[str] = []
        table_seconds: dict[str, float] = {}
        for move in conv.MOVES:
            table_started = time.monotonic()
            if move.name in finished and _count(pg, move.name) == finished[move.name]:
                rows[move.name] = finished[move.name]
                kept.append(move.name)
                continue
            rows[move.name] = copy_table(reader, pg, move, progress, batch_rows, report_every)
            table_seconds[move.name] = time.monotonic() - table_started
            progress(f"moved {move.name}: {rows[move.name]} rows")
        auto_increments = {m.name: reader.auto_increment(m.source) for m in conv.MOVES if m.source}
        next_ids = finish(pg, auto_increments)
        progress("moved: indexes, constraints, triggers and sequences in place")
    return MoveResult(rows, kept, resumed, next_ids, time.monotonic() - started, table_seconds)


def _lock(pg: PgDatabase) -> None:
    if not pg.scalar("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)):
        raise Locked(f"another harbor-migrate move into {pg.settings.describe()} is running: wait for it, "
                     "or stop it and rerun")


def _count(pg: PgDatabase, table: str) -> int:
    return int(pg.scalar(f'SELECT count(*) FROM "{table}"'))


def _occupants(pg: PgDatabase) -> list[str]:
    """What the target's schema already holds: relations and functions, by name."""
    rels = [f"{kind} {name}" for name, kind in pg.query(
        "SELECT c.relname, CASE c.relkind WHEN 'S' THEN 'sequence' WHEN 'v' THEN 'view' "
        "WHEN 'm' THEN 'view' ELSE 'table' END FROM pg_class c "
        "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r','p','S','v','m','f') "
        "ORDER BY c.relkind DESC, c.relname")]
    funcs = [f"function {name}()" for (name,) in pg.query(
        "SELECT proname FROM pg_proc WHERE pronamespace = current_schema()::regnamespace ORDER BY proname")]
    return rels + funcs


def prepare_target(pg: PgDatabase, force: bool) -> tuple[dict[str, int], bool]:
    """Returns the tables an earlier run finished (table -> rows) and whether this resumes one."""
    state_exists = bool(pg.scalar("SELECT to_regclass(%s) IS NOT NULL", (STATE_TABLE,)))
    if state_exists and not force:
        return {name: int(n) for name, n in pg.query(f"SELECT table_name, rows FROM {STATE_TABLE}")}, True
    with pg.transaction():
        if force:
            for name in [t.name for t in TABLES] + [STATE_TABLE]:
                pg.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
            pg.execute(f"DROP FUNCTION IF EXISTS {TRIGGER_FUNCTION}() CASCADE")
        occupied = _occupants(pg)
        if occupied:
            shown = ", ".join(occupied[:5]) + (f" and {len(occupied) - 5} more" if len(occupied) > 5 else "")
            raise TargetNotEmpty(
                f"the target {pg.settings.describe()} is not empty ({shown}): move into an empty database"
                + ("" if force else ", or pass --force-target to drop Harbor's 1.6.0 tables there first")
                + ("; --force-target drops only Harbor's own tables, these are not" if force else ""))
        pg.execute(STATE_DDL)
        for statement in phase_tables():
            pg.execute(statement)
    return {}, False


def check_source(reader: SnapshotReader) -> None:
    """The source is a Harbor 1.5.0 database with exactly the columns the conversions read."""
    try:
        versions = [r[0] for r in reader.query("SELECT version_num FROM alembic_version")]
    except Exception:  # no alembic_version: say what the database is not, not the server's words
        versions = []
    if versions != [conv.SOURCE_REVISION]:
        raise UnknownVersion(f"the source database is at {', '.join(versions) or 'no revision'}, not "
                             f"{conv.SOURCE_REVISION}: upgrade it to 1.5.0 first (harbor-migrate upgrade --to 1.5.2)")
    for move in conv.MOVES:
        if move.source:
            conv.check_source_columns(move, reader.column_names(move.source))


def copy_table(reader: SnapshotReader, pg: PgDatabase, move: conv.TableMove, progress: Progress,
               batch_rows: int, report_every: int) -> int:
    """One table, all rows or none: TRUNCATE, COPY, recorded as finished, in one transaction.

    MySQL renders each row as a line of COPY text (``conv.copy_line_sql``); a
    thread reads those lines while this one writes them to COPY, so reading
    and writing overlap on two cores. The queue between them is bounded:
    memory stays flat in table size.
    """
    n = 0
    with pg.transaction():
        pg.execute(f'TRUNCATE "{move.name}"')
        with pg.copy_in(move.name, move.target_columns) as copy:
            if move.source is None:
                for row in move.generated_rows:
                    copy.write_row(row)
                n = len(move.generated_rows)
            else:
                key = move.key_index
                chunks = reader.chunks(move.source, conv.copy_line_sql(move),
                                       move.source_columns[key] if key is not None else None, batch_rows)
                with contextlib.closing(_read_ahead(chunks)) as ahead:   # stopped here, not when collected
                    for rows, data in ahead:
                        copy.write(data)
                        before, n = n, n + rows
                        if report_every and n // report_every > before // report_every:
                            progress(f"moving {move.name}: {n} rows")
        pg.execute(f"INSERT INTO {STATE_TABLE} (table_name, rows) VALUES (%s, %s) ON CONFLICT (table_name) "
                   "DO UPDATE SET rows = EXCLUDED.rows, finished_at = now()", (move.name, n))
    return n


_DONE = object()


def _read_ahead(chunks: Iterator[tuple[int, bytes]], depth: int = QUEUE_DEPTH) -> Iterator[tuple[int, bytes]]:
    """``chunks`` produced by a thread, at most ``depth`` ahead of the consumer.

    The thread's exception is raised here. When the consumer stops early (an
    error, Ctrl-C, a progress callback that raises) the thread is told to stop,
    closes the stream itself (which drops the MySQL connection rather than read
    the rest) and is waited for, so nothing outlives the table.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    failure: list[BaseException] = []

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in chunks:
                if not put(item):
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            failure.append(exc)
        finally:
            chunks.close()  # type: ignore[attr-defined]
            put(_DONE)

    thread = threading.Thread(target=produce, name="move-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                break
            yield item  # type: ignore[misc]
        if failure:
            raise failure[0]
    finally:
        stop.set()
        thread.join()


def next_id(max_id: int | None, auto_increment: int | None) -> int:
    """The id a sequence hands out next: after the highest id and after MySQL's counter."""
    return max((max_id or 0) + 1, auto_increment or 1)


def finish(pg: PgDatabase, auto_increments: dict[str, int | None]) -> dict[str, int]:
    """Phase after_load, the sequences, the state table dropped: all in one transaction."""
    next_ids: dict[str, int] = {}
    with pg.transaction():
        for statement in phase_after_load():
            pg.execute(statement)
        for table in TABLES:
            if not table.sequence:
                continue
            nxt = next_id(pg.scalar(f"SELECT max({table.serial_column}) FROM {table.name}"),
                          auto_increments.get(table.name))
            if nxt > INT_MAX:   # exhausted, as MySQL's int column was: the next insert fails on both
                pg.execute("SELECT setval(%s, %s, true)", (table.sequence, INT_MAX))
            else:
                pg.execute("SELECT setval(%s, %s, false)", (table.sequence, nxt))
            next_ids[table.sequence] = nxt
        pg.execute(f"DROP TABLE {STATE_TABLE}")
    return next_ids

