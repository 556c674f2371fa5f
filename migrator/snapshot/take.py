"""Taking a consistent, checksummed, compressed logical snapshot (the files: ``migrator.archive``).

The dump client is the data engine (it renders rows in C); big tables are dumped in
key ranges by clients side by side (``pieces``). The DDL and projections come from our
own connection. All of these transactions open their snapshots while a second
connection of ours holds ``LOCK TABLES … READ`` (``barrier``): writers wait for that
moment, readers never, and every piece and the manifest see the same data.
``restore`` is in ``restore.py``.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import os
import pathlib
import shutil
from typing import Callable

from ..archive.manifest import DumpFile, Fingerprint, Manifest, Source, snapshot_paths
from ..chain.estimate import estimated_snapshot_bytes
from ..chain.status import locate, read_declared
from ..common.files import open_private
from ..common.text import human_size
from ..errors import MigratorError, NoSpace, SnapshotInvalid
from ..mysql import clients as dumpclient
from ..mysql.connection import Database, quote_ident as q
from ..schema.projections import entity_fingerprints
from ..schema.revisions import MODELS
from .barrier import collector_paused
from .files import HashingFile
from .pieces import DumpPiece, append_pieces, dump_pieces, piece_entries, plan_pieces, table_entries

Progress = Callable[[str], None]


def take_snapshot(db: Database, directory: str | os.PathLike, *, name: str | None = None,
                  progress: Progress = lambda _: None) -> pathlib.Path:
    """Write a consistent snapshot of ``db`` into ``directory``; returns the manifest path."""
    dumpclient.dump_client()  # no client, no snapshot: say so before anything is written
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _check_free_space(db, directory)
    revision = _revision(db)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    dump_path, manifest_path = snapshot_paths(directory / (name or f"{db.name}-{revision or 'unversioned'}-{stamp}"))
    info = db.server_info()
    tables = db.table_names()
    t0 = _dt.datetime.now()
    try:
        raw = os.fdopen(open_private(dump_path), "wb")
    except FileExistsError:
        raise SnapshotInvalid(f"{dump_path} exists already: choose another directory or name") from None
    pieces: list[DumpPiece] = []
    hashing: HashingFile | None = None
    try:
        triggers = int(db.scalar("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s",
                                 (db.name,)))
        pieces = plan_pieces(db, tables, dump_path, triggers)
        hashing = HashingFile(raw)
        with collector_paused():
            ddl, entities = dump_pieces(db, tables, pieces, hashing, lambda: _facts(db, tables, revision))
        append_pieces(pieces[1:], hashing)
        raw.flush()
        hashing.finish()
        os.fsync(raw.fileno())
        raw.close()
        manifest = Manifest(
            created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            seconds=round((_dt.datetime.now() - t0).total_seconds(), 3),
            source=Source(dsn=db.settings.masked_dsn(), database=db.name, server=info.label,
                          server_key=db.settings.server_key(), flavour=info.flavour,
                          version_tuple=tuple(info.version_tuple), version=info.version,
                          sql_mode=info.global_sql_mode,
                          explicit_defaults_for_timestamp=info.explicit_defaults_for_timestamp,
                          charset=info.db_charset, collation=info.db_collation),
            revision=revision,
            dump=DumpFile(dump_path.name, hashing.sha.hexdigest(), hashing.size, dumpclient.dump_client().name),
            tables=table_entries(tables, ddl, pieces),
            pieces=piece_entries(pieces),
            triggers=triggers,
            entities=entities)
        manifest.save(manifest_path)
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
        _remove(*(piece.path for piece in pieces[1:] if piece.path is not None))
    for t in manifest.tables:
        progress(f"  snapshot {t.name}: {t.rows} rows")
    return manifest_path


def _check_free_space(db: Database, directory: pathlib.Path) -> None:
    need = estimated_snapshot_bytes(db)
    free = shutil.disk_usage(directory).free
    if free < need:
        raise NoSpace(f"{directory} has {human_size(free)} free, the snapshot needs about {human_size(need)}: "
                      "free space or choose another directory")


def _revision(db: Database) -> str | None:
    """``alembic_version``, or without a row there the revision the schema matches (0.1.0 has
    no version table, and a fresh 0.1.1 install never wrote one): verify compares data by it."""
    declared = read_declared(db)
    if declared is not None:
        return declared
    try:
        return locate(db).start
    except MigratorError:
        return None  # not a Harbor schema we know: snapshotted all the same, without projections


def _facts(db: Database, tables: list[str],
           revision: str | None) -> tuple[dict[str, str], dict[str, Fingerprint] | None]:
    """Every table's DDL and the projections, in ``db``'s open snapshot (its metadata locks
    keep the DDL as the dump sees it)."""
    ddl = {t: db.query(f"SHOW CREATE TABLE {q(t)}")[0][1] for t in tables}
    return ddl, _entities(db, revision)


def _entities(db: Database, revision: str | None) -> dict[str, Fingerprint] | None:
    """Projection hashes for ``verify`` (same consistent snapshot), when the revision is known."""
    if revision not in MODELS:
        return None
    try:
        found = entity_fingerprints(db, revision)
    except MigratorError:
        return None  # a drifted database: the snapshot is still good, verify will say it has no projections
    return {name: Fingerprint.from_json(f) for name, f in found.items()}


def _remove(*paths: pathlib.Path) -> None:
    for p in paths:
        with contextlib.suppress(OSError):
            p.unlink()
