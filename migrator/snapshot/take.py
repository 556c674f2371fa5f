"""Consistent, checksummed, compressed logical snapshots: taking, reading, checking.

A snapshot is two files side by side, both readable by their owner only:

- ``NAME.sql.zst``: the SQL text of ``mariadb-dump --single-transaction`` (or
  ``mysqldump``) as the client wrote it, zstd-compressed
  (``zstd -dc NAME.sql.zst | mysql DB`` loads it without us);
- ``NAME.manifest.json``: server and settings, revision, per table its DDL, row
  count and the SHA-256 of its rows as the dump client renders them, the file's
  SHA-256, and the projections ``verify`` compares after the upgrade.

The dump client is the data engine (it renders rows in C, ~1 s per million).
A table of more than ``SPLIT_BYTES`` with an integer key is dumped as two key
ranges by two clients at once, beside a third for the rest of the database; each
such *piece* streams through zstd (one frame) and the per-table digests, so memory
stays flat, and the manifest lists every piece with its rows and digest. The DDL
and projections come from our own connection. All of these transactions open
their snapshots while a second connection of ours holds ``LOCK TABLES … READ``:
writers wait for that moment (tenths of a second), readers never, and every piece
and the manifest see the same data. ``restore`` is in ``restore.py``.
"""
from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import datetime as _dt
import functools
import gc
import hashlib
import json
import os
import pathlib
import queue
import re
import shutil
import threading
from typing import Any, Callable, Iterator

import zstandard

from ..mysql import clients as dumpclient
from ..mysql.connection import Database, quote_ident as q
from ..mysql.dumptext import TableScan
from ..errors import ClientsConnected, MigratorError, NoSpace, SnapshotInvalid
from ..settings import ConnectionSettings
from ..common.worker import Worker

FORMAT = "harbor-migrate-snapshot/2"
DUMP_SUFFIX = ".sql.zst"
MANIFEST_SUFFIX = ".manifest.json"
ZSTD_LEVEL = 1              # zstd's fastest positive level: ~3.5x smaller than the SQL text; the negative
                            # levels cost as much CPU here for files half as big again (measured)
LOCK_WAIT_SECONDS = 5       # how long LOCK TABLES waits for writers' transactions to end (writers queue behind it)
SPLIT_BYTES = 64 << 20      # a table this big (InnoDB data) is dumped as two key ranges side by side
WRITEBACK_BYTES = 4 << 20   # written to the snapshot file between two requests to the kernel to write it out
MDL_STALL_SECONDS = 5       # a dump client waiting this long for a table's metadata lock is stuck behind DDL
_INTEGER_TYPES = ("tinyint", "smallint", "mediumint", "int", "bigint")

Progress = Callable[[str], None]


# -- files ---------------------------------------------------------------------------
def snapshot_paths(path: str | os.PathLike) -> tuple[pathlib.Path, pathlib.Path]:
    """(dump, manifest) for a snapshot named by either file or by its common stem."""
    p = pathlib.Path(path)
    name = p.name
    for suffix in (MANIFEST_SUFFIX, DUMP_SUFFIX, ".sql.gz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return p.with_name(name + DUMP_SUFFIX), p.with_name(name + MANIFEST_SUFFIX)


def _open_private(path: pathlib.Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


class _HashingFile:
    """A file wrapper that hashes what is written (the dump file's SHA-256) and has the kernel
    start writing it to disk every ``WRITEBACK_BYTES``, so the final fsync waits only for the
    last of it (what RocksDB's ``bytes_per_sync`` does). The requests are made from a thread
    of their own: one may wait for the disk's queue (measured up to 12 ms here), and the
    piece writing the file must not. ``finish`` before the file is closed."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0
        self._written_back = 0
        self._requests: queue.SimpleQueue[tuple[int, int] | None] = queue.SimpleQueue()
        self._writeback: Worker | None = None

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        n = self.fh.write(data)
        if self.size - self._written_back >= WRITEBACK_BYTES:
            self.fh.flush()
            if self._writeback is None:
                self._writeback = Worker(self._write_back)
                self._writeback.name = "snapshot-writeback"
                self._writeback.start()
            self._requests.put((self._written_back, self.size - self._written_back))
            self._written_back = self.size
        return n

    def flush(self) -> None:
        self.fh.flush()

    def finish(self) -> None:
        """Wait for the writeback requests made so far (the file must stay open for them)."""
        if self._writeback is not None:
            self._requests.put(None)
            self._writeback.join()  # not result(): a hint that failed fails nothing, the fsync still comes
            self._writeback = None

    def _write_back(self) -> None:
        fd = self.fh.fileno()
        while (request := self._requests.get()) is not None:
            start_writeback(fd, *request)


@functools.lru_cache(maxsize=None)
def _sync_file_range() -> Callable[..., int] | None:
    try:
        function = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None  # not Linux: the final fsync does all the writing
    function.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    return function


_SYNC_FILE_RANGE_WRITE = 2


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Ask the kernel to start writing these bytes out now, without waiting for it (Linux's
    ``sync_file_range``); whether it took the request. A hint: durability comes from fsync."""
    function = _sync_file_range()
    return function is not None and function(fd, offset, length, _SYNC_FILE_RANGE_WRITE) == 0


def human_size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= (1 << 20) else f"{max(n >> 10, 1)} KiB"


def estimated_snapshot_bytes(db: Database) -> int:
    """What a snapshot needs on disk at its peak, generously: the file is about a third of the
    InnoDB data and indexes (measured 28 MiB for 129 MiB at zstd level 1; text that compresses
    worse needs more), and while the pieces are appended one of them exists twice (at most
    half of the file). InnoDB's sizes are estimates too."""
    return int(db.scalar("SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES "
                         "WHERE TABLE_SCHEMA = %s", (db.name,)) or 0) * 2 // 3


# -- taking a snapshot -----------------------------------------------------------------
def _revision(db: Database) -> str | None:
    """``alembic_version``, or without a row there the revision the schema matches (0.1.0 has
    no version table, and a fresh 0.1.1 install never wrote one): verify compares data by it."""
    from ..chain.status import locate, read_declared

    declared = read_declared(db)
    if declared is not None:
        return declared
    try:
        return locate(db).start
    except MigratorError:
        return None  # not a Harbor schema we know: snapshotted all the same, without projections


class _WriteBarrier:
    """``LOCK TABLES … READ`` on a connection of its own: writers wait, readers do not.

    Held only while our transaction and the dump client's open their snapshots, so
    both see the same rows; released as soon as the dump has started.
    """

    def __init__(self, settings: ConnectionSettings, tables: list[str]):
        from ..mysql.connection import connect

        self._db = connect(settings) if tables else None
        if self._db is not None:
            self._db.execute(f"SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}")
            try:
                self._db.execute("LOCK TABLES " + ", ".join(f"{q(t)} READ" for t in tables))
            except MigratorError as exc:
                self.release()
                if "1205" not in exc.message and "lock wait" not in exc.message.lower():
                    raise
                raise ClientsConnected(
                    f"the snapshot waited {LOCK_WAIT_SECONDS} s for other clients' open write transactions on "
                    f"`{settings.database}` (Harbor still running?): stop them, then run it again; nothing was "
                    "written") from None

    @property
    def held(self) -> bool:
        return self._db is not None

    def release(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            with contextlib.suppress(MigratorError):
                db.execute("UNLOCK TABLES")
            db.close()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the pieces stream: a full collection walks
    every object of the process, and the dump makes no cycles to collect (its CPU is the
    snapshot's bottleneck on two cores)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _open_tables(db: Database, tables: list[str]) -> None:
    """Give our snapshot transaction a metadata lock on every table, held until it ends: DDL
    from others then waits for the snapshot instead of changing a table under the dump
    (an instant ADD COLUMN would otherwise go unnoticed). Done while the barrier is held,
    so no DDL can come between the snapshots opening and these locks."""
    for t in tables:
        db.query(f"SELECT 1 FROM {q(t)} LIMIT 0")


def _facts(db: Database, tables: list[str], revision: str | None) -> dict[str, Any]:
    """Every table's DDL and the projections, in ``db``'s open snapshot (its metadata locks
    keep the DDL as the dump sees it)."""
    ddl = {t: db.query(f"SHOW CREATE TABLE {q(t)}")[0][1] for t in tables}
    return {"ddl": ddl, "entities": _entities(db, revision)}


def take_snapshot(db: Database, directory: str | os.PathLike, *, name: str | None = None,
                  progress: Progress = lambda _: None) -> pathlib.Path:
    """Write a consistent snapshot of ``db`` into ``directory``; returns the manifest path."""
    dumpclient.dump_client()  # no client, no snapshot: say so before anything is written
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    need = estimated_snapshot_bytes(db)
    free = shutil.disk_usage(directory).free
    if free < need:
        raise NoSpace(f"{directory} has {human_size(free)} free, the snapshot needs about {human_size(need)}: "
                      "free space or choose another directory")
    declared = _revision(db)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = name or f"{db.name}-{declared or 'unversioned'}-{stamp}"
    dump_path, manifest_path = snapshot_paths(directory / name)
    info = db.server_info()
    tables = db.table_names()
    t0 = _dt.datetime.now()
    try:
        raw = os.fdopen(_open_private(dump_path), "wb")
    except FileExistsError:
        raise SnapshotInvalid(f"{dump_path} exists already: choose another directory or name") from None
    pieces: list[_Piece] = []
    hashing: _HashingFile | None = None
    try:
        triggers = int(db.scalar("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
                                 (db.name,)))
        pieces = _plan_pieces(db, tables, dump_path, triggers)
        hashing = _HashingFile(raw)
        with _collector_paused():
            facts = _dump_pieces(db, tables, declared, pieces, hashing)
        for piece in pieces[1:]:  # one zstd frame each, after the one written in place; each file goes once appended
            with open(piece.path, "rb") as part:
                shutil.copyfileobj(part, hashing, 1 << 20)
            piece.path.unlink()
        raw.flush()
        hashing.finish()
        os.fsync(raw.fileno())
        raw.close()
        manifest = {
            "format": FORMAT,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "seconds": round((_dt.datetime.now() - t0).total_seconds(), 3),
            "source": {"dsn": db.settings.masked_dsn(), "database": db.name, "server": info.label,
                       "server_key": db.settings.server_key(), "flavour": info.flavour,
                       "version_tuple": list(info.version_tuple),
                       "version": info.version, "sql_mode": info.global_sql_mode,
                       "explicit_defaults_for_timestamp": info.explicit_defaults_for_timestamp,
                       "charset": info.db_charset, "collation": info.db_collation},
            "revision": declared,
            "dump": {"file": dump_path.name, "sha256": hashing.sha.hexdigest(), "bytes": hashing.size,
                     "client": dumpclient.dump_client().name},
            "tables": _table_entries(tables, facts["ddl"], pieces),
            "pieces": [{"frame": n, "table": t, "where": piece.where, "charset": piece.charset, "rows": rows,
                        "sha256": sha}
                       for n, piece in enumerate(pieces) for t, (rows, sha) in piece.result().items()],
            "triggers": triggers,
            "entities": facts["entities"],
        }
        fd = _open_private(manifest_path)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_manifest_text(manifest))
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        _remove(dump_path, manifest_path)
        if exc.errno == 28:
            raise NoSpace(f"no space left on {directory} while writing the snapshot (partial files removed): "
                          "free space or choose another directory") from None
        raise SnapshotInvalid(f"cannot write the snapshot in {directory}: {exc.strerror}") from None
    except BaseException:
        _remove(dump_path, manifest_path)
        raise
    finally:
        if hashing is not None:
            hashing.finish()
        with contextlib.suppress(OSError):
            raw.close()
        _remove(*(piece.path for piece in pieces[1:]))
    for t in manifest["tables"]:
        progress(f"  snapshot {t['name']}: {t['rows']} rows")
    return manifest_path


def _table_entries(tables: list[str], ddl: dict[str, str], pieces: list["_Piece"]) -> list[dict[str, Any]]:
    """Per table: its DDL, rows and digest (a table dumped in ranges: the digest of its ranges' digests)."""
    found: dict[str, list[tuple[int, str]]] = {}
    for piece in pieces:
        for table, result in piece.result().items():
            found.setdefault(table, []).append(result)
    entries = []
    for t in tables:
        parts = found.get(t, [(0, hashlib.sha256().hexdigest())])
        sha = parts[0][1] if len(parts) == 1 else hashlib.sha256("\n".join(d for _, d in parts).encode()).hexdigest()
        entries.append({"name": t, "ddl": ddl[t], "rows": sum(n for n, _ in parts), "sha256": sha})
    return entries


def _manifest_text(manifest: dict[str, Any]) -> str:
    """One top-level key per line, each value compact: readable, and written by json's C encoder
    (an indented dump of thousands of projection keys takes longer than the rest of the manifest)."""
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                               for k, v in manifest.items()) + "\n}\n"


def _remove(*paths: pathlib.Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


@dataclasses.dataclass
class _Piece:
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


def _split_points(db: Database, tables: list[str]) -> dict[str, tuple[str, int]]:
    """Tables big enough to dump in two halves, with an integer primary key: table -> (key, middle)."""
    sizes = dict(db.query("SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                          (db.name,)))
    keys: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in db.query(
            # both sides filtered by schema: joined on it alone, MariaDB read the columns of every
            # database on the server (27-30 ms here with nothing else on it; 1.5 ms filtered)
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


def _plan_pieces(db: Database, tables: list[str], dump_path: pathlib.Path, triggers: int) -> list[_Piece]:
    """The rest of the database in one piece, each big table in two key ranges beside it, in
    file order: the first range of the first big table (the biggest piece written in place,
    so it is never copied), the rest, then the other ranges. Each frame carries its own
    session settings (foreign key checks off), so any order loads.

    A database with triggers is dumped in one piece: on restore, a trigger is created after
    its table's rows, and the second range would come after it.
    """
    splits = {} if triggers else _split_points(db, tables)
    charsets = dumpclient.table_dump_charsets(db, tables)
    names = [t for t in tables if t not in splits]
    rest = _Piece(None, None, tuple(f"--ignore-table={db.name}.{t}" for t in splits),
                  dumpclient.RAW if all(charsets[t] == dumpclient.RAW for t in names) else dumpclient.TEXT,
                  names=names)
    ranges = [_Piece([table], where, (f"--where={where}",) + (dumpclient.ROWS_ONLY if k else ()), charsets[table],
                     names=[table])
              for table, (key, middle) in splits.items()
              for k, where in enumerate((f"{q(key)} <= {middle}", f"{q(key)} > {middle}"))]
    pieces = ranges[:1] + [rest] + ranges[1:]
    for n, piece in enumerate(pieces[1:], 1):
        piece.path = dump_path.with_name(f"{dump_path.name}.{n}.part")
    return pieces


_TABLE_BEGINS = (b"CREATE TABLE", b"-- Dumping data for table")


def _dump_piece(settings: ConnectionSettings, piece: _Piece, cancel: threading.Event, snapshot_file: Any) -> None:
    own = os.fdopen(_open_private(piece.path), "wb") if piece.path else contextlib.nullcontext(snapshot_file)
    with own as out, dumpclient.dump_stream(settings, piece.tables, piece.extra, doing="the snapshot's data",
                                            fallback=SnapshotInvalid, charset=piece.charset) as chunks:
        # compressobj, not stream_writer: one write of its output per block read instead of one per
        # 128 KiB of it (measured in an interleaved A/B, 21 runs: the snapshot 0.82 -> 0.79 s)
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


def _dump_pieces(db: Database, tables: list[str], revision: str | None, pieces: list[_Piece],
                 snapshot_file: Any) -> dict[str, Any]:
    """Run a dump client per piece, each into its file (the first into ``snapshot_file``); the
    facts are read beside them, in our transaction, once writers may go on."""
    barrier = _WriteBarrier(db.settings, tables)
    cancel = threading.Event()
    workers: list[Worker] = []
    try:
        db.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        db.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        _open_tables(db, tables)
        for piece in pieces:
            workers.append(Worker(functools.partial(_dump_piece, db.settings, piece, cancel, snapshot_file)))
            workers[-1].start()
        for piece in pieces:  # every client has opened its snapshot: writers may go on
            while not piece.started.wait(0.05) and any(w.is_alive() for w in workers):
                pass
        barrier.release()
        facts = _facts(db, tables, revision)
        while any(w.is_alive() for w in workers):
            next(w for w in workers if w.is_alive()).join(1.0)
            _stop_if_stuck_behind_ddl(db)
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


_DUMP_SELECT = "SELECT /*!40001 SQL_NO_CACHE */"  # how both dump clients begin reading a table's rows
_FROM_TABLE = re.compile(r"\sFROM\s+(`(?:[^`]|``)+`)")


def _stop_if_stuck_behind_ddl(db: Database) -> None:
    """Fail, rather than hang, when a dump client of ours waits for a table's metadata lock.

    That wait can only be behind another client's DDL (or LOCK TABLES … WRITE), and that
    statement waits for our snapshot, which holds every table's lock until the dump is
    done: neither would move before the other's lock_wait_timeout (a day by default).
    The waiting dump connections are killed (the other pieces stop at their next block);
    once our transaction ends, the DDL goes through.
    """
    waiting = db.query("SELECT ID, USER, TIME, INFO FROM information_schema.PROCESSLIST WHERE DB = %s AND STATE LIKE "
                       "'Waiting for table metadata lock%%'", (db.name,))
    ours = [(pid, info) for pid, user, secs, info in waiting
            if (info or "").startswith(_DUMP_SELECT) and user == db.settings.user
            and int(secs or 0) >= MDL_STALL_SECONDS]
    if not ours:
        return
    others = [f"connection {pid} ({user}): {' '.join((info or '').split())[:100]}"
              for pid, user, _, info in waiting if not (info or "").startswith(_DUMP_SELECT)]
    for pid, _ in ours:
        with contextlib.suppress(MigratorError):
            db.execute(f"KILL CONNECTION {int(pid)}")
    found = _FROM_TABLE.search(ours[0][1])
    table = found.group(1) if found else "a table"
    raise ClientsConnected(
        f"the snapshot's dump of {table} waited {MDL_STALL_SECONDS} s behind "
        + ("; ".join(others) if others else "another client's DDL or LOCK TABLES (not visible to this user)")
        + ", which itself waits for the snapshot: the snapshot stopped (nothing written) so that it can finish; "
        "take the snapshot again once it has")


def _entities(db: Database, revision: str | None) -> dict[str, Any] | None:
    """Projection hashes for ``verify`` (same consistent snapshot), when the revision is known."""
    from ..schema.revisions import MODELS
    from ..verify.database import entity_fingerprints

    if revision not in MODELS:
        return None
    try:
        return entity_fingerprints(db, revision)
    except MigratorError:
        return None  # a drifted database: the snapshot is still good, verify will say it has no projections


# -- reading ---------------------------------------------------------------------------
def load_manifest(path: str | os.PathLike) -> dict[str, Any]:
    dump, manifest_path = snapshot_paths(path)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapshotInvalid(f"no manifest {manifest_path}: a snapshot is NAME{DUMP_SUFFIX} plus "
                              f"NAME{MANIFEST_SUFFIX}") from None
    except (OSError, ValueError) as exc:
        raise SnapshotInvalid(f"the manifest {manifest_path} is unreadable or corrupt: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        older = isinstance(manifest, dict) and str(manifest.get("format", "")).startswith("harbor-migrate-snapshot/")
        raise SnapshotInvalid(f"{manifest_path} is not a {FORMAT} manifest"
                              + (" (an older format: load its .sql.gz with `zcat FILE | mysql DB`)" if older else ""))
    return manifest


def dump_frames(dump: pathlib.Path) -> Iterator[tuple[int, bytes]]:
    """(frame number, block) of a snapshot's decompressed SQL text; each piece of the
    snapshot is one zstd frame."""
    decompressor = zstandard.ZstdDecompressor()
    obj = decompressor.decompressobj()
    frame, inside = 0, False
    try:
        with open(dump, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                while block:
                    out = obj.decompress(block)
                    inside = True
                    if out:
                        yield frame, out
                    if not obj.eof:
                        break
                    block, obj, frame, inside = obj.unused_data, decompressor.decompressobj(), frame + 1, False
    except zstandard.ZstdError as exc:
        raise SnapshotInvalid(f"{dump} is corrupt or truncated ({exc}): take a new snapshot") from None
    except OSError as exc:
        raise SnapshotInvalid(f"cannot read {dump}: {exc.strerror}") from None
    if inside or frame == 0:
        raise SnapshotInvalid(f"{dump} is truncated (it ends inside a compressed frame): take a new snapshot")


def dump_chunks(dump: pathlib.Path, frames: set[int] | None = None) -> Iterator[bytes]:
    """The decompressed SQL text of a snapshot: all its pieces in order, or only those of
    ``frames`` (reading stops after the last of them)."""
    last = None if frames is None else max(frames, default=-1)
    for frame, chunk in dump_frames(dump):
        if last is not None and frame > last:
            return
        if frames is None or frame in frames:
            yield chunk


def check_dump_hash(dump: pathlib.Path, manifest: dict[str, Any]) -> None:
    if not dump.exists():
        raise SnapshotInvalid(f"the dump {dump} is missing")
    sha = hashlib.sha256()
    try:
        with open(dump, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                sha.update(chunk)
    except OSError as exc:
        raise SnapshotInvalid(f"cannot read {dump}: {exc.strerror}") from None
    if sha.hexdigest() != manifest["dump"]["sha256"]:
        raise SnapshotInvalid(f"{dump} does not match its manifest (SHA-256 differs): the file is corrupt or "
                              "was changed")


def differences(manifest: dict[str, Any], found: dict[tuple[int, str], tuple[int, str]]) -> list[str]:
    """What ``found`` — (frame, table) -> (rows, sha256) — says unlike the manifest's pieces."""
    problems = []
    for p in manifest["pieces"]:
        rows, sha = found.get((p["frame"], p["table"]), (None, None))
        if (rows, sha) != (p["rows"], p["sha256"]):
            what = p["table"] + (f" where {p['where']}" if p["where"] else "")
            problems.append(f"{what} ({rows if rows is not None else 'no'} rows, manifest {p['rows']}"
                            + (", rows differ" if rows == p["rows"] else "") + ")")
    return problems


def verify_snapshot(path: str | os.PathLike) -> dict[str, Any]:
    """Check a snapshot against its manifest: the file's hash, then every table's rows, piece by piece."""
    manifest = load_manifest(path)
    dump, _ = snapshot_paths(path)
    check_dump_hash(dump, manifest)
    scans: dict[int, TableScan] = {}
    for frame, chunk in dump_frames(dump):
        scans.setdefault(frame, TableScan()).feed(chunk)
    found = {(p["frame"], p["table"]): scans.get(p["frame"], TableScan()).result([p["table"]])[p["table"]]
             for p in manifest["pieces"]}
    problems = differences(manifest, found)
    if problems:
        raise SnapshotInvalid("snapshot rows differ from the manifest: " + ", ".join(problems))
    return manifest


def live_digests(settings: ConnectionSettings, tables: list[str], *, where: str | None = None,
                 consistent: bool = True, charset: str = dumpclient.TEXT) -> dict[str, tuple[int, str]]:
    """(rows, sha256) of live tables (or of the rows ``where`` selects), rendered by the same
    dump client, in the same character set, as a snapshot's.

    ``consistent=False`` reads each table in a statement of its own, without a transaction
    or table locks (an index being added beside it then only waits for that one read).
    """
    if not tables:
        return {}
    extra = dumpclient.ROWS_ONLY + (() if consistent else ("--skip-single-transaction", "--skip-lock-tables"))
    extra += (f"--where={where}",) if where else ()
    with dumpclient.dump_stream(settings, tables, extra, doing="reading the restored rows",
                                fallback=SnapshotInvalid, charset=charset) as chunks:
        return TableScan().consume(chunks).result(tables)


def piece_charset(piece: dict[str, Any]) -> str:
    """The character set a manifest piece was dumped in (manifests from before it was recorded: utf8mb4)."""
    return piece.get("charset", dumpclient.TEXT)


def piece_digests(settings: ConnectionSettings, manifest: dict[str, Any], tables: list[str],
                  *, consistent: bool = True) -> dict[tuple[int, str], tuple[int, str]]:
    """The live counterpart of each of the manifest's pieces: (frame, table) -> (rows, sha256).

    Whole tables are read in one dump per character set, in the order given; ranges one dump
    each.
    """
    pieces = [p for p in manifest["pieces"] if p["table"] in tables]
    found: dict[tuple[int, str], tuple[int, str]] = {}
    whole = {p["table"]: p for p in pieces if not p["where"]}
    for charset in dict.fromkeys(piece_charset(p) for p in whole.values()):
        names = [t for t in tables if t in whole and piece_charset(whole[t]) == charset]
        found.update({(whole[t]["frame"], t): r for t, r in live_digests(settings, names, consistent=consistent,
                                                                          charset=charset).items()})
    for p in pieces:
        if p["where"]:
            found[(p["frame"], p["table"])] = live_digests(settings, [p["table"]], where=p["where"],
                                                           consistent=consistent,
                                                           charset=piece_charset(p))[p["table"]]
    return found
