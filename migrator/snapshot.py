"""Consistent, checksummed, compressed logical snapshots, and restore.

A snapshot is two files side by side, both readable by their owner only:

- ``NAME.sql.zst``: the SQL text of ``mariadb-dump --single-transaction`` (or
  ``mysqldump``) as the client wrote it, zstd-compressed
  (``zstd -dc NAME.sql.zst | mysql DB`` loads it without us);
- ``NAME.manifest.json``: server and settings, revision, and per table its DDL,
  row count and the SHA-256 of its rows as the dump client renders them, plus the
  file's SHA-256 and the projections ``verify`` compares after the upgrade.

The dump client is the data engine (it renders rows in C, ~1 s per million);
this module streams its output through compression and the per-table digests,
so memory stays flat. The manifest's counts, DDL and projections come from our
own connection, in a consistent snapshot opened while a second connection holds
``LOCK TABLES … READ``: writers wait for that moment (tenths of a second), readers
never, and both transactions see the same data.

A restore loads the tables without their plain indexes and foreign keys, then
adds those (one sorted build per index instead of a million B-tree inserts) while
a second dump of the restored rows is checked against the manifest's digests.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import pathlib
import shutil
import threading
from typing import Any, Callable, Iterator

import pymysql
import zstandard

from . import dumpclient
from .db import Database, quote_ident as q
from .dumpstream import TableScan, split_inserts, strip_secondary_indexes
from .errors import MigratorError, NoSpace, SnapshotInvalid, TargetNotEmpty
from .settings import ConnectionSettings

FORMAT = "harbor-migrate-snapshot/2"
DUMP_SUFFIX = ".sql.zst"
MANIFEST_SUFFIX = ".manifest.json"
ZSTD_LEVEL = -1             # a fast level (~3x smaller than the SQL text): the snapshot must keep up with the dump
LOCK_WAIT_SECONDS = 30      # how long LOCK TABLES waits for a writer's transaction to end
LOAD_SESSIONS = 2           # client sessions a restore deals the rows out to (triggers: one, in dump order)

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
    """A file wrapper that hashes what is written (the dump file's SHA-256)."""

    def __init__(self, fh):
        self.fh = fh
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.sha.update(data)
        self.size += len(data)
        return self.fh.write(data)

    def flush(self) -> None:
        self.fh.flush()


def human_size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= (1 << 20) else f"{max(n >> 10, 1)} KiB"


def _estimated_bytes(db: Database) -> int:
    return int(db.scalar("SELECT COALESCE(SUM(DATA_LENGTH), 0) FROM information_schema.TABLES "
                         "WHERE TABLE_SCHEMA = %s", (db.name,)) or 0)


# -- taking a snapshot -----------------------------------------------------------------
class _WriteBarrier:
    """``LOCK TABLES … READ`` on a connection of its own: writers wait, readers do not.

    Held only while our transaction and the dump client's open their snapshots, so
    both see the same rows; released as soon as the dump has started.
    """

    def __init__(self, settings: ConnectionSettings, tables: list[str]):
        from .db import connect

        self._db = connect(settings) if tables else None
        if self._db is not None:
            self._db.execute(f"SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}")
            self._db.execute("LOCK TABLES " + ", ".join(f"{q(t)} READ" for t in tables))

    @property
    def held(self) -> bool:
        return self._db is not None

    def release(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            with contextlib.suppress(MigratorError):
                db.execute("UNLOCK TABLES")
            db.close()


def _facts(db: Database, tables: list[str], revision: str | None) -> dict[str, Any]:
    """Every table's DDL, how many triggers, and the projections, in ``db``'s open snapshot."""
    ddl = {t: db.query(f"SHOW CREATE TABLE {q(t)}")[0][1] for t in tables}
    triggers = int(db.scalar("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
                             (db.name,)))
    return {"ddl": ddl, "triggers": triggers, "entities": _entities(db, revision)}


class _Worker(threading.Thread):
    """Runs one function beside the dump; its result or exception is collected by ``result``."""

    def __init__(self, fn: Callable[[], Any]):
        super().__init__(daemon=True)
        self._fn, self._value, self._error = fn, None, None

    def run(self) -> None:
        try:
            self._value = self._fn()
        except BaseException as exc:  # handed to the caller's thread
            self._error = exc

    def result(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def take_snapshot(db: Database, directory: str | os.PathLike, *, name: str | None = None,
                  progress: Progress = lambda _: None) -> pathlib.Path:
    """Write a consistent snapshot of ``db`` into ``directory``; returns the manifest path."""
    from .status import read_declared

    dumpclient.dump_client()  # no client, no snapshot: say so before anything is written
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    need = _estimated_bytes(db) // 3  # zstd of the dump text is ~1/4 of InnoDB's pages: a generous bound
    free = shutil.disk_usage(directory).free
    if free < need:
        raise NoSpace(f"{directory} has {human_size(free)} free, the snapshot needs about {human_size(need)}: "
                      "free space or choose another directory")
    declared = read_declared(db) if db.has_table("alembic_version") else None
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = name or f"{db.name}-{declared or 'unversioned'}-{stamp}"
    dump_path, manifest_path = snapshot_paths(directory / name)
    info = db.server_info()
    tables = db.table_names()
    t0 = _dt.datetime.now()
    try:
        fd = _open_private(dump_path)
    except FileExistsError:
        raise SnapshotInvalid(f"{dump_path} exists already: choose another directory or name") from None
    try:
        with os.fdopen(fd, "wb") as raw:
            hashing = _HashingFile(raw)
            digests = _dump_into(db, tables, declared, hashing)
            raw.flush()
            os.fsync(raw.fileno())
        facts = digests.pop("")
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
            "tables": [{"name": t, "ddl": facts["ddl"][t], "rows": digests[t][0], "sha256": digests[t][1]}
                       for t in tables],
            "triggers": facts["triggers"],
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
    for t in manifest["tables"]:
        progress(f"  snapshot {t['name']}: {t['rows']} rows")
    return manifest_path


def _manifest_text(manifest: dict[str, Any]) -> str:
    """One top-level key per line, each value compact: readable, and written by json's C encoder
    (an indented dump of thousands of projection keys takes longer than the rest of the manifest)."""
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                               for k, v in manifest.items()) + "\n}\n"


def _remove(*paths: pathlib.Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()


def _dump_into(db: Database, tables: list[str], revision: str | None, out: _HashingFile) -> dict[str, Any]:
    """Run the dump client into ``out`` (compressed), with the facts read beside it.

    Returns (rows, sha256) per table, and the facts under the key ``""``.
    """
    barrier = _WriteBarrier(db.settings, tables)
    try:
        db.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        db.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        facts = _Worker(lambda: _facts(db, tables, revision))
        facts.start()
        scan = TableScan()
        dump_started = False
        with dumpclient.dump_stream(db.settings, doing="the snapshot's data", fallback=SnapshotInvalid) as chunks:
            compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL, threads=1).stream_writer(out, closefd=False)
            for chunk in chunks:
                if barrier.held:
                    # The client's first CREATE TABLE comes after its START TRANSACTION: its
                    # snapshot is open; once our facts are read too, writers may go on.
                    dump_started = dump_started or b"CREATE TABLE" in chunk
                    if dump_started and not facts.is_alive():
                        barrier.release()
                compressor.write(chunk)
                scan.feed(chunk)
            compressor.flush(zstandard.FLUSH_FRAME)
        result: dict[str, Any] = scan.result(tables)
        result[""] = facts.result()
        return result
    finally:
        barrier.release()
        with contextlib.suppress(MigratorError):
            db.execute("COMMIT")


def _entities(db: Database, revision: str | None) -> dict[str, Any] | None:
    """Projection hashes for ``verify`` (same consistent snapshot), when the revision is known."""
    from .schema.revisions import MODELS
    from .verify.database import entity_fingerprints

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


def dump_chunks(dump: pathlib.Path) -> Iterator[bytes]:
    """The decompressed SQL text of a snapshot, a block at a time."""
    try:
        with open(dump, "rb") as fh, zstandard.ZstdDecompressor().stream_reader(fh) as reader:
            while True:
                chunk = reader.read(1 << 20)
                if not chunk:
                    return
                yield chunk
    except zstandard.ZstdError as exc:
        raise SnapshotInvalid(f"{dump} is corrupt or truncated ({exc}): take a new snapshot") from None
    except OSError as exc:
        raise SnapshotInvalid(f"cannot read {dump}: {exc.strerror}") from None


def _check_dump_hash(dump: pathlib.Path, manifest: dict[str, Any]) -> None:
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


def _differences(manifest: dict[str, Any], found: dict[str, tuple[int, str]]) -> list[str]:
    problems = []
    for t in manifest["tables"]:
        rows, sha = found.get(t["name"], (None, None))
        if (rows, sha) != (t["rows"], t["sha256"]):
            problems.append(f"{t['name']} ({rows if rows is not None else 'no'} rows, manifest {t['rows']}"
                            + (", rows differ" if rows == t["rows"] else "") + ")")
    return problems


def verify_snapshot(path: str | os.PathLike) -> dict[str, Any]:
    """Check a snapshot against its manifest: the file's hash, then every table's row digest."""
    manifest = load_manifest(path)
    dump, _ = snapshot_paths(path)
    _check_dump_hash(dump, manifest)
    found = TableScan().consume(dump_chunks(dump)).result(t["name"] for t in manifest["tables"])
    problems = _differences(manifest, found)
    if problems:
        raise SnapshotInvalid("snapshot rows differ from the manifest: " + ", ".join(problems))
    return manifest


def live_digests(settings: ConnectionSettings, tables: list[str], *,
                 consistent: bool = True) -> dict[str, tuple[int, str]]:
    """(rows, sha256) of live tables, rendered by the same dump client as a snapshot's.

    ``consistent=False`` reads each table in a statement of its own, without a transaction
    or table locks (an index being added beside it then only waits for that one read).
    """
    if not tables:
        return {}
    extra = dumpclient.ROWS_ONLY + (() if consistent else ("--skip-single-transaction", "--skip-lock-tables"))
    with dumpclient.dump_stream(settings, tables, extra, doing="reading the restored rows",
                                fallback=SnapshotInvalid) as chunks:
        return TableScan().consume(chunks).result(tables)


# -- restore ---------------------------------------------------------------------------
def _primary_key_session(db: Database, manifest: dict[str, Any]) -> bytes:
    """Harbor's alembic_version has no primary key; on a server that requires one, the SQL that
    lifts it for the restore's session (MySQL), or stop before anything is dropped (MariaDB: global only)."""
    if not db.server_info().require_primary_key:
        return b""
    without = [t["name"] for t in manifest["tables"] if "PRIMARY KEY" not in t["ddl"].upper()]
    if not without:
        return b""
    try:
        db.execute("SET SESSION sql_require_primary_key = 0")
        return b"SET SESSION sql_require_primary_key = 0;\n"
    except MigratorError:
        pass
    from .errors import PreflightFailed

    raise PreflightFailed(f"the target server requires primary keys and {', '.join(without)} has none (as in every "
                          "Harbor database): lift it for the restore — MariaDB: SET GLOBAL innodb_force_primary_key "
                          "= OFF; MySQL: GRANT SESSION_VARIABLES_ADMIN or SET GLOBAL sql_require_primary_key = OFF "
                          "— then run restore again; nothing was changed")


def _create_database(target: ConnectionSettings, manifest: dict[str, Any]) -> None:
    from .db import translate_error

    try:
        conn = pymysql.connect(**{**target.with_database("").pymysql_kwargs(), "database": None})
    except pymysql.err.MySQLError as exc:
        raise translate_error(exc, target) from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (target.database,))
            if not cur.fetchone()[0]:
                src = manifest["source"]
                cur.execute(f"CREATE DATABASE {q(target.database)} CHARACTER SET {src['charset']} "
                            f"COLLATE {src['collation']}")
    except pymysql.err.MySQLError as exc:
        raise translate_error(exc, target) from None
    finally:
        conn.close()


def _load(dump: pathlib.Path, target: ConnectionSettings, prologue: bytes,
          sessions: int) -> list[tuple[str, list[str]]]:
    """Load the dump into ``target`` with the SQL client, without the tables' plain indexes and
    foreign keys; returns those, per table, to be added after the rows.

    With ``sessions`` > 1, the tables are created first, then their INSERT statements are
    dealt out to that many client sessions (each set up by the dump's own header): the
    server parses and inserts them side by side.
    """
    deferred: list[tuple[str, list[str]]] = []
    doing = "loading the snapshot"
    if sessions <= 1:
        with dumpclient.sql_session(target, doing=doing, fallback=SnapshotInvalid) as send:
            send(prologue)
            for chunk in strip_secondary_indexes(dump_chunks(dump), deferred):
                send(chunk)
        return deferred
    header: list[bytes] = []
    with dumpclient.sql_session(target, doing=doing, fallback=SnapshotInvalid) as send:
        send(prologue)
        for chunk in strip_secondary_indexes(_between_inserts(dump_chunks(dump), header), deferred):
            send(chunk)
    with contextlib.ExitStack() as stack:
        feeds = [stack.enter_context(dumpclient.sql_session(target, doing=doing, fallback=SnapshotInvalid))
                 for _ in range(sessions)]
        try:
            for send in feeds:
                send(b"".join(header))
            n = 0
            for table, text in split_inserts(dump_chunks(dump)):
                if table is not None:
                    feeds[n % sessions](text)
                    n += 1
        except BrokenPipeError:
            pass  # a session stopped reading: leaving the stack raises its error
    return deferred


_FIRST_TABLE = (b"\nDROP TABLE IF EXISTS `", b"\nCREATE TABLE `")


def _between_inserts(chunks: Iterator[bytes], header: list[bytes]) -> Iterator[bytes]:
    """The dump stream without its INSERT statements; ``header`` receives the text before the
    first table (the session settings every data session needs too)."""
    in_header = True
    for table, text in split_inserts(chunks):
        if table is not None:
            continue
        if in_header:
            cut = min((i for i in (text.find(m) for m in _FIRST_TABLE) if i >= 0), default=-1)
            header.append(text if cut < 0 else text[:cut + 1])
            in_header = cut < 0
        yield text


def _add_indexes(target: ConnectionSettings, deferred: list[tuple[str, list[str]]],
                 connected: threading.Event) -> None:
    """The indexes and foreign keys a load left out (foreign keys unchecked: the rows were consistent)."""
    from .db import connect

    try:
        with connect(target) as db:
            db.execute("SET SESSION foreign_key_checks = 0")
            connected.set()
            for table, clauses in deferred:
                db.execute(f"ALTER TABLE {q(table)} " + ", ".join(clauses))
    finally:
        connected.set()


def _indexes_and_check(target: ConnectionSettings, manifest: dict[str, Any], tables: list[str],
                       deferred: list[tuple[str, list[str]]]) -> list[str]:
    """Add the left-out indexes while the rows are read back and compared with the manifest.

    An index is built beside reads of its table, so the check reads the tables without
    deferred indexes first, giving each ALTER time to start before its table is read;
    its last step then waits only for that one read.
    """
    connected = threading.Event()
    indexes = _Worker(lambda: _add_indexes(target, deferred, connected))
    indexes.start()
    connected.wait(30)
    later = {t for t, _ in deferred}
    ordered = [t for t in tables if t not in later] + [t for t in tables if t in later]
    try:
        problems = _differences(manifest, live_digests(target, ordered, consistent=False))
    finally:
        indexes.join()
    indexes.result()
    return problems


def _strip_auto_increment(ddl: str) -> str:
    import re

    return re.sub(r" AUTO_INCREMENT=\d+", "", ddl)


def restore_snapshot(path: str | os.PathLike, target: ConnectionSettings, *, force: bool = False,
                     progress: Progress = lambda _: None) -> dict[str, Any]:
    """Load a snapshot into ``target`` (created if missing) and check it against the manifest."""
    from .db import connect

    # The file hash first: corruption or truncation stops us before anything is dropped.
    manifest = load_manifest(path)
    dump, _ = snapshot_paths(path)
    _check_dump_hash(dump, manifest)
    with connect(target.with_database("")) as server_db:  # before anything, even CREATE DATABASE
        _primary_key_session(server_db, manifest)
    _create_database(target, manifest)
    with connect(target) as db:
        prologue = _primary_key_session(db, manifest)
        existing = db.table_names()
        if existing and not force:
            raise TargetNotEmpty(f"database {target.database!r} on {target.describe()} holds {len(existing)} "
                                 "table(s): restore into an empty database, or pass --force to replace them")
        db.execute("SET SESSION foreign_key_checks = 0")
        for t in existing:
            db.execute(f"DROP TABLE {q(t)}")
        db.execute("SET SESSION foreign_key_checks = 1")
        progress(f"  loading {dump.name} ({human_size(dump.stat().st_size)} compressed)")
        sessions = 1 if manifest.get("triggers") else LOAD_SESSIONS
        deferred = _load(dump, target, prologue, sessions)
        loaded = set(db.table_names())
        tables = [t["name"] for t in manifest["tables"] if t["name"] in loaded]
        progress(f"  adding the indexes of {len(deferred)} tables while checking {len(tables)} tables' rows")
        problems = _indexes_and_check(target, manifest, tables, deferred)
        if db.server_info().version == manifest["source"]["version"]:
            for t in manifest["tables"]:
                ddl = db.query(f"SHOW CREATE TABLE {q(t['name'])}")[0][1] if t["name"] in loaded else ""
                if _strip_auto_increment(ddl) != _strip_auto_increment(t["ddl"]):
                    problems.append(f"{t['name']} (its definition differs)")
        if problems:
            raise SnapshotInvalid("the restored tables differ from the manifest: " + ", ".join(problems))
    return manifest
