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


CHUNK_BYTES = 512 * 1024  # one chunk of rows from the server: well under any max_allowed_packet


def _row_chunks(db: Database, table: str) -> Iterator[tuple[int, bytes]]:
    """(rows, b"row\nrow\n…row") in primary-key order, a chunk per round trip.

    The server renders and joins the rows (GROUP_CONCAT over a key window), so
    Python handles a few hundred blobs instead of a million tuples. Tables without
    a single integer key (small in Harbor) come row by row.
    """
    columns = _columns(db, table)
    expr = row_expression(columns)
    order = _order_by(db, table, columns)
    pk = [c for c in order.split(", ")]
    types = dict(columns)
    key = pk[0].strip("`") if len(pk) == 1 else None
    if key is None or types.get(key, "").lower() not in ("int", "bigint", "mediumint", "smallint", "tinyint"):
        rows: list[bytes] = []
        for (line,) in db.stream(f"SELECT {expr} FROM {q(table)} ORDER BY {order}", batch=20000):
            rows.append(line)
            if len(rows) >= 5000:
                yield len(rows), b"\n".join(rows)
                rows = []
        if rows:
            yield len(rows), b"\n".join(rows)
        return
    lo, hi, n, avg = db.query(f"SELECT MIN({q(key)}), MAX({q(key)}), COUNT(*), AVG(LENGTH({expr})) FROM {q(table)}")[0]
    if not n:
        return
    density = n / max(int(hi) - int(lo) + 1, 1)
    window = max(1, int(CHUNK_BYTES / max(float(avg or 100), 1.0) / max(density, 1e-6)))
    db.execute("SET SESSION group_concat_max_len = 1073741824")
    start = int(lo) - 1
    while start < int(hi):
        end = start + window
        count, blob = db.query(f"SELECT COUNT(*), GROUP_CONCAT({expr} ORDER BY {q(key)} SEPARATOR '\\n') "
                               f"FROM {q(table)} WHERE {q(key)} > {start} AND {q(key)} <= {end}")[0]
        if count:
            yield int(count), blob
        start = end


def _row_lines(db: Database, table: str) -> Iterator[bytes]:
    for _, blob in _row_chunks(db, table):
        yield from blob.split(b"\n")


def table_checksum(db: Database, table: str) -> tuple[int, str]:
    """(rows, sha256) of a live table, comparable with a snapshot's manifest."""
    digest = hashlib.sha256()
    rows = 0
    for n, blob in _row_chunks(db, table):
        digest.update(blob)
        digest.update(b"\n")
        rows += n
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


def human_size(n: int) -> str:
    return f"{n >> 20} MiB" if n >= (1 << 20) else f"{max(n >> 10, 1)} KiB"


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
        raise NoSpace(f"{directory} has {human_size(free)} free, the snapshot needs about {human_size(need)}: "
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
                    for n, blob in _row_chunks(db, table):
                        digest.update(blob)
                        digest.update(b"\n")
                        rows += n
                        out.write(head + blob.replace(b"\n", b",\n") + b";\n")
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
    """Parse a dump we wrote, a megabyte at a time: ('sql', text) for DDL and SET,
    ('rows', (table, body)) for each INSERT, ``body`` being its VALUES list
    (``row,\\nrow,\\n…row``). Values never hold a raw newline (the snapshot escapes
    them), so a statement ends at the first ``;\\n``: all the scanning is bytes.find.
    """
    head = b"INSERT INTO `"
    try:
        with gzip.open(dump, "rb") as fh:
            buf = b""
            eof = False
            while True:
                end = buf.find(b";\n")
                if end < 0:
                    if eof:
                        break
                    block = fh.read(1 << 20)
                    if not block:
                        eof = True
                    buf += block
                    continue
                statement, buf = buf[:end], buf[end + 2:]
                stmt = statement.lstrip(b"\n")
                if stmt.startswith(head):
                    nl = stmt.index(b"\n")
                    table = stmt[len(head):stmt.index(b"` VALUES")].decode().replace("``", "`")
                    yield "rows", (table, stmt[nl + 1:])
                    continue
                text = b"\n".join(ln for ln in statement.split(b"\n") if ln and not ln.startswith(b"-- "))
                if text:
                    yield "sql", text.decode("utf-8")
            if buf.strip(b"\n") and any(not ln.startswith(b"-- ") for ln in buf.strip(b"\n").split(b"\n")):
                raise SnapshotInvalid(f"{dump} is truncated (ends inside a statement)")
    except (EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile) and exc.errno:
            raise SnapshotInvalid(f"cannot read {dump}: {exc.strerror}") from None
        raise SnapshotInvalid(f"{dump} is corrupt or truncated ({exc}): take a new snapshot") from None


def _rows_digest_input(body: bytes) -> tuple[bytes, int]:
    """The bytes a table's checksum covers ("row\\n" per row) and the row count, from a VALUES list."""
    text = body.replace(b",\n", b"\n") + b"\n"
    return text, text.count(b"\n")


def _check_dump_hash(dump: pathlib.Path, manifest: dict[str, Any]) -> None:
    if not dump.exists():
        raise SnapshotInvalid(f"the dump {dump} is missing")
    sha = hashlib.sha256()
    with open(dump, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            sha.update(chunk)
    if sha.hexdigest() != manifest["dump"]["sha256"]:
        raise SnapshotInvalid(f"{dump} does not match its manifest (SHA-256 differs): the file is corrupt or "
                              "was changed")


def _compare_rows(manifest: dict[str, Any], digests: dict[str, Any], counts: dict[str, int], what: str) -> None:
    problems = []
    for t in manifest["tables"]:
        got_rows = counts.get(t["name"], 0)
        got_sha = digests.get(t["name"], hashlib.sha256()).hexdigest()
        if got_rows != t["rows"] or got_sha != t["sha256"]:
            problems.append(f"{t['name']} ({got_rows} rows, manifest {t['rows']})")
    if problems:
        raise SnapshotInvalid(f"{what} differ from the manifest: " + ", ".join(problems))


def verify_snapshot(path: str | os.PathLike) -> dict[str, Any]:
    """Check a snapshot against its manifest: dump hash, per-table counts and row checksums."""
    manifest = load_manifest(path)
    dump, _ = snapshot_paths(path)
    _check_dump_hash(dump, manifest)
    digests: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for kind, payload in _statements(dump):
        if kind == "rows":
            table, body = payload
            text, n = _rows_digest_input(body)
            digests.setdefault(table, hashlib.sha256()).update(text)
            counts[table] = counts.get(table, 0) + n
    _compare_rows(manifest, digests, counts, "snapshot rows")
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

    # The file hash first (corruption or truncation stops us before anything is dropped);
    # the rows' checksums are computed during the load itself, and on the server after it.
    manifest = load_manifest(path)
    dump, _ = snapshot_paths(path)
    _check_dump_hash(dump, manifest)
    with connect(target.with_database("")) as server_db:  # before anything, even CREATE DATABASE
        _allow_tables_without_primary_key(server_db, manifest)
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
        _allow_tables_without_primary_key(db, manifest)  # again: the session setting is per connection
        existing = db.table_names()
        if existing and not force:
            raise TargetNotEmpty(f"database {target.database!r} on {target.describe()} holds {len(existing)} "
                                 "table(s): restore into an empty database, or pass --force to replace them")
        db.execute("SET SESSION foreign_key_checks = 0")
        db.execute("SET SESSION unique_checks = 0")
        for t in existing:
            db.execute(f"DROP TABLE {q(t)}")
        current = None
        digests: dict[str, Any] = {}
        counts: dict[str, int] = {}
        for kind, payload in _statements(dump):
            if kind == "sql":
                if payload.upper().startswith(("SET NAMES", "SET SQL_MODE", "SET TIME_ZONE")):
                    continue  # the session is already set up like this (and strict)
                db.execute(payload)
                continue
            table, body = payload
            if table != current:
                if current is not None:
                    db.execute("COMMIT")
                    progress(f"  restored {current}")
                db.execute("START TRANSACTION")  # one per table: bulk load into an empty table
                current = table
            text, n = _rows_digest_input(body)
            digests.setdefault(table, hashlib.sha256()).update(text)
            counts[table] = counts.get(table, 0) + n
            try:
                db.conn.query(b"INSERT INTO " + q(table).encode() + b" VALUES\n" + body)
            except pymysql.err.MySQLError as exc:
                raise translate_error(exc, target) from None
        if current is not None:
            db.execute("COMMIT")
            progress(f"  restored {current}")
        db.execute("SET SESSION unique_checks = 1")
        db.execute("SET SESSION foreign_key_checks = 1")
        _compare_rows(manifest, digests, counts, "the snapshot's rows")
        problems = []
        for t in manifest["tables"]:
            rows, sha = table_checksum(db, t["name"])
            if (rows, sha) != (t["rows"], t["sha256"]):
                problems.append(f"{t['name']} ({rows} rows, manifest {t['rows']})")
        if problems:
            raise SnapshotInvalid("the restored tables differ from the manifest: " + ", ".join(problems))
    return manifest
