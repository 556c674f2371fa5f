"""A snapshot's pieces: which dump client dumps what, and running them side by side.

A table of more than ``SPLIT_BYTES`` with an integer key is dumped as two key ranges
by two clients at once, beside a third for the rest of the database; each piece
streams through zstd (one frame) and the per-table digests, so memory stays flat.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import pathlib
import shutil
import threading
from typing import Any, Callable, TypeVar

import zstandard

from ..archive.manifest import PieceEntry, TableEntry
from ..common.files import open_private
from ..common.worker import Worker
from ..errors import MigratorError, SnapshotInvalid
from ..mysql import clients as dumpclient
from ..mysql.connection import Database, quote_ident as q
from ..mysql.dumptext import TableScan
from ..settings import ConnectionSettings
from .barrier import WriteBarrier, open_tables, stop_if_stuck_behind_ddl

# zstd's fastest positive level: the negative levels cost as much CPU here, for bigger files
# (docs/benchmarks.md, "Results: snapshot and restore")
ZSTD_LEVEL = 1
SPLIT_BYTES = 64 << 20      # a table this big (InnoDB data) is dumped as two key ranges side by side
APPEND_BYTES = 1 << 20      # the pieces written beside the first are appended to it this much at a time
_INTEGER_TYPES = ("tinyint", "smallint", "mediumint", "int", "bigint")
_TABLE_BEGINS = (b"CREATE TABLE", b"-- Dumping data for table")

T = TypeVar("T")


@dataclasses.dataclass
class DumpPiece:
    """One dump client's share of a snapshot: whole tables, or one key range of one big table.

    The first piece streams straight into the snapshot file, each other one into a private
    file of its own (one zstd frame each) while the others run, so two cores render rows
    at once; those frames are then appended in order.
    """

    tables: list[str] | None         # None: every table but those dumped in ranges
    where: str | None
    extra: tuple[str, ...]
    charset: str                     # dumpclient.dump_charset of its tables
    path: pathlib.Path | None = None   # its own file; None for the first piece, written into the snapshot's
    started: threading.Event = dataclasses.field(default_factory=threading.Event)
    scan: TableScan = dataclasses.field(default_factory=TableScan)
    names: list[str] = dataclasses.field(default_factory=list)

    def result(self) -> dict[str, tuple[int, str]]:
        return self.scan.result(self.names)


def split_points(db: Database, tables: list[str]) -> dict[str, tuple[str, int]]:
    """Tables big enough to dump in two halves, with an integer primary key: table -> (key, middle)."""
    sizes = dict(db.query("SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                          (db.name,)))
    keys: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in db.query(
            # both sides filtered by schema: joined on it alone, MariaDB reads the columns of every
            # database on the server (docs/benchmarks.md)
            "SELECT s.TABLE_NAME, s.COLUMN_NAME, c.DATA_TYPE FROM information_schema.STATISTICS s "
            "JOIN information_schema.COLUMNS c ON c.TABLE_NAME = s.TABLE_NAME AND c.COLUMN_NAME = s.COLUMN_NAME "
            "WHERE s.TABLE_SCHEMA = %s AND c.TABLE_SCHEMA = %s AND s.INDEX_NAME = 'PRIMARY'", (db.name, db.name)):
        keys.setdefault(table, []).append((column, data_type.lower()))
    points = {}
    for t in tables:
        key = keys.get(t, [])
        if int(sizes.get(t) or 0) < SPLIT_BYTES or len(key) != 1 or key[0][1] not in _INTEGER_TYPES:
            continue
        lo, hi = db.query(f"SELECT MIN({q(key[0][0])}), MAX({q(key[0][0])}) FROM {q(t)}")[0]
        if lo is not None and hi > lo:
            points[t] = (key[0][0], (int(lo) + int(hi)) // 2)
    return points


def plan_pieces(db: Database, tables: list[str], dump_path: pathlib.Path, triggers: int) -> list[DumpPiece]:
    """The rest of the database in one piece, each big table in two key ranges beside it, in
    file order: the first range of the first big table (the biggest piece written in place,
    so it is never copied), the rest, then the other ranges. Each frame carries its own
    session settings (foreign key checks off), so any order loads.

    A database with triggers is dumped in one piece: on restore, a trigger is created after
    its table's rows, and the second range would come after it.
    """
    splits = {} if triggers else split_points(db, tables)
    charsets = dumpclient.table_dump_charsets(db, tables)
    names = [t for t in tables if t not in splits]
    rest = DumpPiece(None, None, tuple(f"--ignore-table={db.name}.{t}" for t in splits),
                     dumpclient.RAW if all(charsets[t] == dumpclient.RAW for t in names) else dumpclient.TEXT,
                     names=names)
    ranges = [DumpPiece([table], where, (f"--where={where}",) + (dumpclient.ROWS_ONLY if k else ()),
                        charsets[table], names=[table])
              for table, (key, middle) in splits.items()
              for k, where in enumerate((f"{q(key)} <= {middle}", f"{q(key)} > {middle}"))]
    pieces = ranges[:1] + [rest] + ranges[1:]
    for n, piece in enumerate(pieces[1:], 1):
        piece.path = dump_path.with_name(f"{dump_path.name}.{n}.part")
    return pieces


def _dump_piece(settings: ConnectionSettings, piece: DumpPiece, cancel: threading.Event, snapshot_file: Any) -> None:
    own = os.fdopen(open_private(piece.path), "wb") if piece.path else contextlib.nullcontext(snapshot_file)
    with own as out, dumpclient.dump_stream(settings, piece.tables, piece.extra, doing="the snapshot's data",
                                            fallback=SnapshotInvalid, charset=piece.charset) as chunks:
        # compressobj, not stream_writer: one write of its output per block read instead of one
        # per 128 KiB of it (docs/benchmarks.md)
        compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compressobj()
        for chunk in chunks:
            if cancel.is_set():
                raise SnapshotInvalid("the snapshot was stopped")
            if not piece.started.is_set() and any(m in chunk for m in _TABLE_BEGINS):
                piece.started.set()  # the client is past its START TRANSACTION: its snapshot is open
            compressed = compressor.compress(chunk)
            if compressed:
                out.write(compressed)
            piece.scan.feed(chunk)
        out.write(compressor.flush())
    piece.started.set()


def dump_pieces(db: Database, tables: list[str], pieces: list[DumpPiece], snapshot_file: Any,
                read_facts: Callable[[], T]) -> T:
    """Run a dump client per piece, each into its file (the first into ``snapshot_file``);
    ``read_facts`` runs beside them, in our transaction, once writers may go on."""
    barrier = WriteBarrier(db.settings, tables)
    cancel = threading.Event()
    workers: list[Worker] = []
    try:
        db.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        db.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        open_tables(db, tables)
        for piece in pieces:
            workers.append(Worker(functools.partial(_dump_piece, db.settings, piece, cancel, snapshot_file)))
            workers[-1].start()
        for piece in pieces:  # every client has opened its snapshot: writers may go on
            while not piece.started.wait(0.05) and any(w.is_alive() for w in workers):
                pass
        barrier.release()
        facts = read_facts()
        while any(w.is_alive() for w in workers):
            next(w for w in workers if w.is_alive()).join(1.0)
            stop_if_stuck_behind_ddl(db)
        for worker in workers:
            worker.result()
        return facts
    except BaseException:
        cancel.set()
        for worker in workers:
            worker.join()
        raise
    finally:
        barrier.release()
        with contextlib.suppress(MigratorError):
            db.execute("COMMIT")


def append_pieces(pieces: list[DumpPiece], snapshot_file: Any) -> None:
    """The pieces written beside the first, appended to the snapshot file in order, one zstd
    frame each; each piece's file goes once it is appended."""
    for piece in pieces:
        assert piece.path is not None
        with open(piece.path, "rb") as part:
            shutil.copyfileobj(part, snapshot_file, APPEND_BYTES)
        piece.path.unlink()


def table_entries(tables: list[str], ddl: dict[str, str], pieces: list[DumpPiece]) -> list[TableEntry]:
    """Per table: its DDL, rows and digest (a table dumped in ranges: the digest of its ranges' digests)."""
    found: dict[str, list[tuple[int, str]]] = {}
    for piece in pieces:
        for table, result in piece.result().items():
            found.setdefault(table, []).append(result)
    entries = []
    for t in tables:
        parts = found.get(t, [(0, hashlib.sha256().hexdigest())])
        sha = parts[0][1] if len(parts) == 1 else hashlib.sha256("\n".join(d for _, d in parts).encode()).hexdigest()
        entries.append(TableEntry(t, ddl[t], sum(n for n, _ in parts), sha))
    return entries


def piece_entries(pieces: list[DumpPiece]) -> list[PieceEntry]:
    """Per piece and table, in file order: its frame, range, character set, rows and digest."""
    return [PieceEntry(n, t, piece.where, piece.charset, rows, sha)
            for n, piece in enumerate(pieces) for t, (rows, sha) in piece.result().items()]
