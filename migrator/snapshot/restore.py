"""Restore a snapshot: as fast as the server can take the rows, and checked against its manifest.

The file's hash is checked before anything is dropped. Then, with the SQL client:
every table is created without its plain indexes and foreign keys, the INSERT
statements are dealt out to two client sessions (the server parses and inserts
side by side), and the indexes and foreign keys are added after the rows (one
sorted build each instead of a B-tree insert per row) while a second dump of the
restored tables is compared with the manifest, piece by piece. A snapshot with
triggers loads in one session, in dump order, so no trigger fires on restored rows.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import pathlib
import re
import threading
from typing import Iterator

from ..archive.frames import check_dump_hash, differences, dump_chunks, dump_frames
from ..archive.manifest import Manifest, snapshot_paths
from ..common.text import human_size
from ..common.worker import Worker
from ..errors import MigratorError, PreflightFailed, SnapshotInvalid, TargetNotEmpty
from ..mysql import clients as dumpclient
from ..mysql.connection import Database, connect, connect_server, quote_ident as q
from ..mysql.dumptext import split_inserts, strip_secondary_indexes
from ..settings import ConnectionSettings
from .digests import piece_digests
from .take import Progress

LOAD_SESSIONS = 2           # client sessions a restore deals the rows out to (triggers: one, in dump order)
LOAD_ATTEMPTS = 3           # a load the server broke off in a deadlock (error 1213) is dropped and run again


def _primary_key_session(db: Database, manifest: Manifest) -> bytes:
    """Harbor's alembic_version has no primary key; on a server that requires one, the SQL that
    lifts it for the restore's session (MySQL), or stop before anything is dropped (MariaDB: global only)."""
    if not db.server_info().require_primary_key:
        return b""
    without = [t.name for t in manifest.tables if "PRIMARY KEY" not in t.ddl.upper()]
    if not without:
        return b""
    try:
        db.execute("SET SESSION sql_require_primary_key = 0")
        return b"SET SESSION sql_require_primary_key = 0;\n"
    except MigratorError:
        pass
    raise PreflightFailed(f"the target server requires primary keys and {', '.join(without)} has none (as in every "
                          "Harbor database): lift it for the restore — MariaDB: SET GLOBAL innodb_force_primary_key "
                          "= OFF; MySQL: GRANT SESSION_VARIABLES_ADMIN or SET GLOBAL sql_require_primary_key = OFF "
                          "— then run restore again; nothing was changed")


def _create_database(target: ConnectionSettings, manifest: Manifest) -> None:
    with connect_server(target) as server:  # the database may not exist yet: connect to none
        if not server.scalar("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                             (target.database,)):
            server.execute(f"CREATE DATABASE {q(target.database)} CHARACTER SET {manifest.source.charset} "
                           f"COLLATE {manifest.source.collation}")


def _load(dump: pathlib.Path, target: ConnectionSettings, prologue: bytes, sessions: int,
          charsets: dict[int, str]) -> list[tuple[str, list[str]]]:
    """Load the dump into ``target`` with the SQL client, without the tables' plain indexes and
    foreign keys; returns those, per table, to be added after the rows.

    With ``sessions`` > 1, the tables are created first, then their INSERT statements are
    dealt out to that many client sessions (each set up by the dump's own header): the
    server parses and inserts them side by side, each session switched to a piece's
    character set (``charsets``: frame -> charset) before that piece's rows.
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
            n, current = 0, None
            for frame, blocks in itertools.groupby(dump_frames(dump), key=lambda fb: fb[0]):
                charset = charsets.get(frame, dumpclient.TEXT)
                if charset != current:
                    current = charset
                    for send in feeds:
                        send(f"/*!40101 SET NAMES {current} */;\n".encode())
                for table, text in split_inserts(block for _, block in blocks):
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
    try:
        with connect(target) as db:
            db.execute("SET SESSION foreign_key_checks = 0")
            connected.set()
            for table, clauses in deferred:
                db.execute(f"ALTER TABLE {q(table)} " + ", ".join(clauses))
    finally:
        connected.set()


def _indexes_and_check(target: ConnectionSettings, manifest: Manifest, tables: list[str],
                       deferred: list[tuple[str, list[str]]]) -> list[str]:
    """Add the left-out indexes while the rows are read back and compared with the manifest.

    An index is built beside reads of its table, so the check reads the tables without
    deferred indexes first, giving each ALTER time to start before its table is read;
    its last step then waits only for that one read.
    """
    connected = threading.Event()
    indexes = Worker(lambda: _add_indexes(target, deferred, connected))
    indexes.start()
    connected.wait(30)
    later = {t for t, _ in deferred}
    ordered = [t for t in tables if t not in later] + [t for t in tables if t in later]
    try:
        problems = differences(manifest, piece_digests(target, manifest, ordered, consistent=False))
    finally:
        indexes.join()
    indexes.result()
    return problems


def _drop_tables(db: Database, tables: list[str]) -> None:
    db.execute("SET SESSION foreign_key_checks = 0")
    for t in tables:
        db.execute(f"DROP TABLE {q(t)}")
    db.execute("SET SESSION foreign_key_checks = 1")


def _strip_auto_increment(ddl: str) -> str:
    return re.sub(r" AUTO_INCREMENT=\d+", "", ddl)


def restore_snapshot(path: str | os.PathLike, target: ConnectionSettings, *, force: bool = False,
                     progress: Progress = lambda _: None) -> Manifest:
    """Load a snapshot into ``target`` (created if missing) and check it against the manifest."""
    # The clients and the file hash first: nothing is dropped unless the load can run.
    dumpclient.sql_client()
    dumpclient.dump_client()
    manifest = Manifest.load(path)
    dump, _ = snapshot_paths(path)
    check_dump_hash(dump, manifest)
    with connect(target.with_database("")) as server_db:  # before anything, even CREATE DATABASE
        _primary_key_session(server_db, manifest)
    _create_database(target, manifest)
    with connect(target) as db:
        prologue = _primary_key_session(db, manifest)
        existing = db.table_names()
        if existing and not force:
            raise TargetNotEmpty(f"database {target.database!r} on {target.describe()} holds {len(existing)} "
                                 "table(s): restore into an empty database, or pass --force to replace them")
        _drop_tables(db, existing)
        progress(f"  loading {dump.name} ({human_size(dump.stat().st_size)} compressed)")
        sessions = 1 if manifest.triggers else LOAD_SESSIONS
        charsets = {p.frame: p.charset for p in manifest.pieces}
        for attempt in range(1, LOAD_ATTEMPTS + 1):
            try:
                deferred = _load(dump, target, prologue, sessions, charsets)
                break
            except SnapshotInvalid as exc:
                if "ERROR 1213" not in exc.message or attempt == LOAD_ATTEMPTS:
                    raise
                progress(f"  the server stopped a loading session in a deadlock (attempt {attempt} of {LOAD_ATTEMPTS}):"
                         " the tables loaded so far are dropped and the load runs again, in one session")
                _drop_tables(db, db.table_names())
                sessions = 1  # alone, it cannot deadlock with itself
        loaded = set(db.table_names())
        tables = [t.name for t in manifest.tables if t.name in loaded]
        progress(f"  adding the indexes of {len(deferred)} tables while checking {len(tables)} tables' rows")
        problems = _indexes_and_check(target, manifest, tables, deferred)
        if db.server_info().version == manifest.source.version:
            for t in manifest.tables:
                ddl = db.query(f"SHOW CREATE TABLE {q(t.name)}")[0][1] if t.name in loaded else ""
                if _strip_auto_increment(ddl) != _strip_auto_increment(t.ddl):
                    problems.append(f"{t.name} (its definition differs)")
        if problems:
            raise SnapshotInvalid("the restored tables differ from the manifest: " + ", ".join(problems))
    return manifest
