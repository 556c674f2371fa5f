"""Consistent, checksummed, compressed logical snapshots, and restore.

A snapshot is two files side by side, both readable by their owner only:

- ``NAME.sql.gz``: a plain SQL dump (``zcat NAME.sql.gz | mysql db`` works too):
  per table its ``CREATE TABLE`` and ``INSERT`` statements with one row per line,
  rows in primary-key order;
- ``NAME.manifest.json``: server and settings, revision, and per table its DDL,
  row count and checksum, plus the dump's SHA-256.

Rows are rendered by the server (``QUOTE``/``CONCAT``) inside one
``START TRANSACTION WITH CONSISTENT SNAPSHOT`` and streamed to the file, so the
tool's memory does not grow with table size and no value makes a round trip
through a Python type. The checksum of a table is the SHA-256 of those row
lines, so it can be recomputed from the file (``snapshot verify``) or from a
live table (after ``restore``, and by the tests) with the same function.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import hashlib
import json
import os
import pathlib
import shutil
import threading
import queue
import zlib
from typing import Any, Callable, Iterator

import pymysql

from .db import Database, quote_ident as q
from .errors import MigratorError, NoSpace, SnapshotInvalid, TargetNotEmpty
from .settings import ConnectionSettings

FORMAT = "harbor-migrate-snapshot/1"
BATCH_BYTES = 1 << 20          # one INSERT statement: well under MySQL 5.6's 4 MB max_allowed_packet
_STRING_TYPES = ("char", "varchar", "text", "tinytext", "mediumtext", "longtext", "enum", "set")
_BINARY_TYPES = ("binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob", "bit")

Progress = Callable[[str], None]


# -- row rendering and checksums ----------------------------------------------------
def _columns(db: Database, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.query(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
        "ORDER BY ORDINAL_POSITION", (db.name, table))]


def _order_by(db: Database, table: str, columns: list[tuple[str, str]]) -> str:
    pk = [r[0] for r in db.query(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
        "AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX", (db.name, table))]
    return ", ".join(q(c) for c in (pk or [c for c, _ in columns]))


def row_expression(columns: list[tuple[str, str]]) -> str:
    """SQL that renders one row as a VALUES tuple on one line, escaped by the server."""
    parts = []
    for name, data_type in columns:
        col = q(name)
        t = data_type.lower()
        if t in _STRING_TYPES:
            parts.append(rf"REPLACE(REPLACE(QUOTE({col}), '\n', '\\n'), '\r', '\\r')")
        elif t in _BINARY_TYPES:
            parts.append(f"IFNULL(CONCAT('0x', HEX({col})), 'NULL')")
        elif t in ("int", "tinyint", "smallint", "mediumint", "bigint", "decimal", "float", "double"):
            parts.append(f"IFNULL({col}, 'NULL')")
        else:
            parts.append(f"QUOTE({col})")
    return "CAST(CONCAT('(', " + ", ',', ".join(parts) + ", ')') AS BINARY)"


def _row_lines(db: Database, table: str) -> Iterator[bytes]:
    columns = _columns(db, table)
    sql = f"SELECT {row_expression(columns)} FROM {q(table)} ORDER BY {_order_by(db, table, columns)}"
    for (line,) in db.stream(sql, batch=20000):
        yield line


def table_checksum(db: Database, table: str) -> tuple[int, str]:
    """(rows, sha256) of a live table, comparable with a snapshot's manifest."""
    digest = hashlib.sha256()
    rows = 0
    for line in _row_lines(db, table):
        digest.update(line)
        digest.update(b"\n")
        rows += 1
    return rows, digest.hexdigest()


def database_checksums(db: Database, tables: list[str] | None = None) -> dict[str, tuple[int, str]]:
    return {t: table_checksum(db, t) for t in (tables if tables is not None else db.table_names())}


# -- files ---------------------------------------------------------------------------
def snapshot_paths(path: str | os.PathLike) -> tuple[pathlib.Path, pathlib.Path]:
    """(dump, manifest) for a snapshot named by either file or by its common stem."""
    p = pathlib.Path(path)
    name = p.name
    for suffix in (".manifest.json", ".sql.gz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    base = p.with_name(name)
    return base.with_name(name + ".sql.gz"), base.with_name(name + ".manifest.json")


def _open_private(path: pathlib.Path) -> int:
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


class _ThreadedGzipWriter:
    """gzip compression on a second thread (zlib releases the GIL), so the
    snapshot reads rows while the previous batch is compressed and written."""

    def __init__(self, fileobj, level: int = 1):
        self._gz = gzip.GzipFile(fileobj=fileobj, mode="wb", compresslevel=level, mtime=0)
        self._q: queue.Queue = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._buf: list[bytes] = []
        self._size = 0

    def _run(self) -> None:
        while True:
            chunk = self._q.get()
            if chunk is None:
                return
            if self._error is None:
                try:
                    self._gz.write(chunk)
                except BaseException as exc:  # surfaced to the writer thread below
                    self._error = exc

    def write(self, data: bytes) -> None:
        self._buf.append(data)
        self._size += len(data)
        if self._size >= (1 << 20):
            self._flush()

    def _flush(self) -> None:
        if self._error:
            raise self._error
        if self._buf:
            self._q.put(b"".join(self._buf))
            self._buf, self._size = [], 0

    def close(self) -> None:
        self._flush()
        self._q.put(None)
        self._thread.join()
        if self._error:
            raise self._error
        self._gz.close()


class _HashingFile:
    """A file wrapper that hashes what is written (the dump's SHA-256)."""

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


def _estimated_bytes(db: Database) -> int:
    return int(db.scalar("SELECT COALESCE(SUM(DATA_LENGTH), 0) FROM information_schema.TABLES "
                         "WHERE TABLE_SCHEMA = %s", (db.name,)) or 0)


def take_snapshot(db: Database, directory: str | os.PathLike, *, name: str | None = None,
                  progress: Progress = lambda _: None) -> pathlib.Path:
    """Write a consistent snapshot of ``db`` into ``directory``; returns the manifest path."""
    from .status import read_declared

    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    need = _estimated_bytes(db) // 3  # compressed text of InnoDB pages: a generous bound
    free = shutil.disk_usage(directory).free
    if free < need:
        raise NoSpace(f"{directory} has {free >> 20} MiB free, the snapshot needs about {need >> 20} MiB: "
                      "free space or choose another directory")
    declared = read_declared(db) if db.has_table("alembic_version") else None
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = name or f"{db.name}-{declared or 'unversioned'}-{stamp}"
    dump_path, manifest_path = snapshot_paths(directory / name)
    info = db.server_info()
    tables_meta: list[dict[str, Any]] = []
    t0 = _dt.datetime.now()
    try:
        fd = _open_private(dump_path)
    except FileExistsError:
        raise SnapshotInvalid(f"{dump_path} exists already: choose another directory or name") from None
    try:
        with os.fdopen(fd, "wb") as raw:
            hashing = _HashingFile(raw)
            out = _ThreadedGzipWriter(hashing)
            db.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            db.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
            try:
                out.write(f"-- {FORMAT} of `{db.name}` on {info.label}\n".encode())
                out.write(b"SET NAMES utf8mb4;\nSET time_zone = '+00:00';\nSET foreign_key_checks = 0;\n"
                          b"SET unique_checks = 0;\nSET sql_mode = 'NO_ENGINE_SUBSTITUTION';\n")
                for table in db.table_names():
                    ddl = db.query(f"SHOW CREATE TABLE {q(table)}")[0][1]
                    out.write(f"\n-- table {table}\nDROP TABLE IF EXISTS {q(table)};\n{ddl};\n".encode())
                    digest = hashlib.sha256()
                    rows = 0
                    head = f"INSERT INTO {q(table)} VALUES\n".encode()
                    batch = 0
                    for line in _row_lines(db, table):
                        digest.update(line)
                        digest.update(b"\n")
                        if batch == 0:
                            out.write(head)
                        else:
                            out.write(b",\n")
                        out.write(line)
                        batch += len(line) + 2
                        rows += 1
                        if batch >= BATCH_BYTES:
                            out.write(b";\n")
                            batch = 0
                    if batch:
                        out.write(b";\n")
                    tables_meta.append({"name": table, "ddl": ddl, "rows": rows, "sha256": digest.hexdigest()})
                    progress(f"  snapshot {table}: {rows} rows")
                entities = _entities(db, declared)
            finally:
                with contextlib.suppress(MigratorError):
                    db.execute("COMMIT")
            out.close()
            raw.flush()
            os.fsync(raw.fileno())
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
            "dump": {"file": dump_path.name, "sha256": hashing.sha.hexdigest(), "bytes": hashing.size},
            "tables": tables_meta,
            "entities": entities,
        }
        fd = _open_private(manifest_path)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        for p in (dump_path, manifest_path):
            with contextlib.suppress(OSError):
                p.unlink()
        if exc.errno == 28:
            raise NoSpace(f"no space left on {directory} while writing the snapshot (partial files removed): "
                          "free space or choose another directory") from None
        raise SnapshotInvalid(f"cannot write the snapshot in {directory}: {exc.strerror}") from None
    except BaseException:
        for p in (dump_path, manifest_path):
            with contextlib.suppress(OSError):
                p.unlink()
        raise
    return manifest_path


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
        raise SnapshotInvalid(f"no manifest {manifest_path}: a snapshot is NAME.sql.gz plus NAME.manifest.json") from None
    except (OSError, ValueError) as exc:
        raise SnapshotInvalid(f"the manifest {manifest_path} is unreadable or corrupt: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise SnapshotInvalid(f"{manifest_path} is not a {FORMAT} manifest")
    return manifest


def _statements(dump: pathlib.Path) -> Iterator[tuple[str, Any]]:
    """Parse a dump we wrote: ('sql', text) for DDL/SET, ('rows', (table, [lines])) for INSERT batches."""
    try:
        with gzip.open(dump, "rb") as fh:
            pending: list[bytes] = []
            table: str | None = None
            rows: list[bytes] | None = None
            for raw in fh:
                line = raw.rstrip(b"\n")
                if rows is not None:
                    end = line.endswith(b";")
                    rows.append(line[:-1] if (end or line.endswith(b",")) else line)
                    if end:
                        yield "rows", (table, rows)
                        rows = None
                    continue
                if line.startswith(b"INSERT INTO "):
                    table = line[len(b"INSERT INTO `"):line.index(b"` VALUES")].decode().replace("``", "`")
                    rows = []
                    continue
                if not line or line.startswith(b"-- "):
                    continue
                pending.append(line)
                if line.endswith(b";"):
                    yield "sql", b"\n".join(pending)[:-1].decode("utf-8")
                    pending = []
            if rows is not None or pending:
                raise SnapshotInvalid(f"{dump} is truncated (ends inside a statement)")
    except (EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile) and exc.errno:
            raise SnapshotInvalid(f"cannot read {dump}: {exc.strerror}") from None
        raise SnapshotInvalid(f"{dump} is corrupt or truncated ({exc}): take a new snapshot") from None


def verify_snapshot(path: str | os.PathLike) -> dict[str, Any]:
    """Check a snapshot against its manifest: dump hash, per-table counts and row checksums."""
    manifest = load_manifest(path)
    dump, _ = snapshot_paths(path)
    if not dump.exists():
        raise SnapshotInvalid(f"the dump {dump} is missing")
    sha = hashlib.sha256()
    with open(dump, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    if sha.hexdigest() != manifest["dump"]["sha256"]:
        raise SnapshotInvalid(f"{dump} does not match its manifest (SHA-256 differs): the file is corrupt or "
                              "was changed")
    digests: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for kind, payload in _statements(dump):
        if kind == "rows":
            table, lines = payload
            d = digests.setdefault(table, hashlib.sha256())
            for line in lines:
                d.update(line)
                d.update(b"\n")
            counts[table] = counts.get(table, 0) + len(lines)
    problems = []
    for t in manifest["tables"]:
        got_rows = counts.get(t["name"], 0)
        got_sha = digests.get(t["name"], hashlib.sha256()).hexdigest()
        if got_rows != t["rows"] or got_sha != t["sha256"]:
            problems.append(f"{t['name']} ({got_rows} rows, manifest {t['rows']})")
    if problems:
        raise SnapshotInvalid("snapshot rows differ from the manifest: " + ", ".join(problems))
    return manifest


# -- restore ---------------------------------------------------------------------------
def _allow_tables_without_primary_key(db: Database, manifest: dict[str, Any]) -> None:
    """Harbor's alembic_version has no primary key; on a server that requires one, lift the
    requirement for this session (MySQL) or stop before anything is dropped (MariaDB: global only)."""
    if not db.server_info().require_primary_key:
        return
    without = [t["name"] for t in manifest["tables"] if "PRIMARY KEY" not in t["ddl"].upper()]
    if not without:
        return
    try:
        db.execute("SET SESSION sql_require_primary_key = 0")
        return
    except MigratorError:
        pass
    from .errors import PreflightFailed

    raise PreflightFailed(f"the target server requires primary keys and {', '.join(without)} has none (as in every "
                          "Harbor database): lift it for the restore — MariaDB: SET GLOBAL innodb_force_primary_key "
                          "= OFF; MySQL: GRANT SESSION_VARIABLES_ADMIN or SET GLOBAL sql_require_primary_key = OFF "
                          "— then run restore again; nothing was changed")



def restore_snapshot(path: str | os.PathLike, target: ConnectionSettings, *, force: bool = False,
                     progress: Progress = lambda _: None) -> dict[str, Any]:
    """Load a snapshot into ``target`` (created if missing) and check it against the manifest."""
    from .db import connect, translate_error

    manifest = verify_snapshot(path)
    dump, _ = snapshot_paths(path)
    server = target.with_database("")
    try:
        conn = pymysql.connect(**{**server.pymysql_kwargs(), "database": None})
    except pymysql.err.MySQLError as exc:
        raise translate_error(exc, target) from None
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (target.database,))
            exists = cur.fetchone()[0]
            if not exists:
                src = manifest["source"]
                cur.execute(f"CREATE DATABASE {q(target.database)} CHARACTER SET {src['charset']} "
                            f"COLLATE {src['collation']}")
    except pymysql.err.MySQLError as exc:
        raise translate_error(exc, target) from None
    finally:
        conn.close()
    with connect(target) as db:
        _allow_tables_without_primary_key(db, manifest)
        existing = db.table_names()
        if existing and not force:
            raise TargetNotEmpty(f"database {target.database!r} on {target.describe()} holds {len(existing)} "
                                 "table(s): restore into an empty database, or pass --force to replace them")
        db.execute("SET SESSION foreign_key_checks = 0")
        db.execute("SET SESSION unique_checks = 0")
        for t in existing:
            db.execute(f"DROP TABLE {q(t)}")
        current = None
        for kind, payload in _statements(dump):
            if kind == "sql":
                if payload.upper().startswith(("SET NAMES", "SET SQL_MODE", "SET TIME_ZONE")):
                    continue  # the session is already set up like this (and strict)
                db.execute(payload)
                continue
            table, lines = payload
            if table != current:
                if current is not None:
                    db.execute("COMMIT")
                    progress(f"  restored {current}")
                db.execute("START TRANSACTION")  # one per table: bulk load into an empty table
                current = table
            try:
                db.conn.query(b"INSERT INTO " + q(table).encode() + b" VALUES\n" + b",\n".join(lines))
            except pymysql.err.MySQLError as exc:
                raise translate_error(exc, target) from None
        if current is not None:
            db.execute("COMMIT")
            progress(f"  restored {current}")
        db.execute("SET SESSION unique_checks = 1")
        db.execute("SET SESSION foreign_key_checks = 1")
        problems = []
        for t in manifest["tables"]:
            rows, sha = table_checksum(db, t["name"])
            if (rows, sha) != (t["rows"], t["sha256"]):
                problems.append(f"{t['name']} ({rows} rows, manifest {t['rows']})")
        if problems:
            raise SnapshotInvalid("the restored tables differ from the manifest: " + ", ".join(problems))
    return manifest
