"""The manifest of a snapshot as a type: its format version, load, save and validation.

Written once, by ``snapshot``, as one top-level key per line with each value compact
(readable, and encoded by json's C encoder: an indented dump of thousands of projection
keys takes longer than the rest of the manifest). Readers get typed fields, never the
JSON's keys. A manifest of this format written before a field existed still loads: such
fields have the default the code of that time behaved as (a piece without ``charset`` was
dumped in utf8mb4).
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from typing import Any

from ..common.files import open_private
from ..errors import SnapshotInvalid

FORMAT = "harbor-migrate-snapshot/2"
DUMP_SUFFIX = ".sql.zst"
MANIFEST_SUFFIX = ".manifest.json"
_OLDER_DUMP_SUFFIX = ".sql.gz"     # format 1: named so that its manifest is found and refused by name
LEGACY_PIECE_CHARSET = "utf8mb4"  # what every piece was dumped in before the manifest recorded it


def snapshot_paths(path: str | os.PathLike) -> tuple[pathlib.Path, pathlib.Path]:
    """(dump, manifest) for a snapshot named by either file or by its common stem."""
    p = pathlib.Path(path)
    name = p.name
    for suffix in (MANIFEST_SUFFIX, DUMP_SUFFIX, _OLDER_DUMP_SUFFIX):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return p.with_name(name + DUMP_SUFFIX), p.with_name(name + MANIFEST_SUFFIX)


def piece_charset(piece: dict[str, Any]) -> str:
    """The character set a manifest piece was dumped in (manifests from before it was recorded: utf8mb4)."""
    return piece.get("charset", LEGACY_PIECE_CHARSET)


def _other_format_hint(data: Any) -> str:
    """What to do with a manifest of another version of this format (nothing for a foreign file)."""
    family, _, version = str(data.get("format", "") if isinstance(data, dict) else "").rpartition("/")
    if family != FORMAT.rpartition("/")[0] or not version.isdigit():
        return ""
    if int(version) < int(FORMAT.rpartition("/")[2]):
        return " (an older format: load its .sql.gz with `zcat FILE | mysql DB`)"
    return " (a newer format: read it with the harbor-migrate release that wrote it)"


@dataclasses.dataclass(frozen=True)
class Source:
    """The server and database the snapshot was taken of, with the settings a rehearsal imitates."""

    dsn: str                       # masked: never a password
    database: str
    server: str                    # "MariaDB 10.11.6"
    server_key: str | None
    flavour: str                   # "mariadb" or "mysql"
    version_tuple: tuple[int, ...]
    version: str
    sql_mode: str | None
    explicit_defaults_for_timestamp: bool | None
    charset: str                   # the database's default character set and collation
    collation: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Source":
        return cls(d["dsn"], d["database"], d["server"], d.get("server_key"), d.get("flavour", "mariadb"),
                   tuple(d.get("version_tuple", (10, 11))), d["version"], d.get("sql_mode"),
                   d.get("explicit_defaults_for_timestamp"), d["charset"], d["collation"])

    def to_json(self) -> dict[str, Any]:
        return {"dsn": self.dsn, "database": self.database, "server": self.server, "server_key": self.server_key,
                "flavour": self.flavour, "version_tuple": list(self.version_tuple), "version": self.version,
                "sql_mode": self.sql_mode, "explicit_defaults_for_timestamp": self.explicit_defaults_for_timestamp,
                "charset": self.charset, "collation": self.collation}


@dataclasses.dataclass(frozen=True)
class DumpFile:
    """The compressed SQL file beside the manifest."""

    file: str                      # its name, in the manifest's directory
    sha256: str
    bytes: int
    client: str                    # "mariadb-dump" or "mysqldump"

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "DumpFile":
        return cls(d["file"], d["sha256"], d["bytes"], d["client"])

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "bytes": self.bytes, "client": self.client}


@dataclasses.dataclass(frozen=True)
class TableEntry:
    """A table: its CREATE TABLE, rows, and the digest of its rows (in ranges: of its ranges' digests)."""

    name: str
    ddl: str
    rows: int
    sha256: str

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TableEntry":
        return cls(d["name"], d["ddl"], d["rows"], d["sha256"])

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ddl": self.ddl, "rows": self.rows, "sha256": self.sha256}


@dataclasses.dataclass(frozen=True)
class PieceEntry:
    """One table's rows in one zstd frame of the dump: all of them, or the key range ``where`` selects."""

    frame: int
    table: str
    where: str | None
    charset: str                   # the dump's --default-character-set for this frame
    rows: int
    sha256: str

    @property
    def label(self) -> str:
        return self.table + (f" where {self.where}" if self.where else "")

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "PieceEntry":
        return cls(d["frame"], d["table"], d["where"], piece_charset(d), d["rows"], d["sha256"])

    def to_json(self) -> dict[str, Any]:
        return {"frame": self.frame, "table": self.table, "where": self.where, "charset": self.charset,
                "rows": self.rows, "sha256": self.sha256}


@dataclasses.dataclass(frozen=True)
class Fingerprint:
    """One projection's hashes (``migrator.schema.projections``): rows, the digest of all, key -> row hash."""

    rows: int
    sha256: str
    keys: dict[str, str]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Fingerprint":
        return cls(d["rows"], d["sha256"], dict(d.get("keys", {})))

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "sha256": self.sha256, "keys": self.keys}


@dataclasses.dataclass
class Manifest:
    """A snapshot's manifest (``NAME.manifest.json``), format ``FORMAT``."""

    FORMAT = FORMAT

    created: str                   # ISO 8601, UTC, seconds
    seconds: float                 # how long taking the snapshot took
    source: Source
    revision: str | None           # alembic_version, or the revision the schema matched; None: unknown
    dump: DumpFile
    tables: list[TableEntry]
    pieces: list[PieceEntry]
    triggers: int
    entities: dict[str, Fingerprint] | None   # None: taken at an unknown revision, no projections

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def table(self, name: str) -> TableEntry | None:
        return next((t for t in self.tables if t.name == name), None)

    def frames_of(self, table: str) -> set[int]:
        """The frames of the dump that hold ``table``'s rows."""
        return {p.frame for p in self.pieces if p.table == table}

    # -- JSON ------------------------------------------------------------------------
    @classmethod
    def from_json(cls, data: Any, where: str = "the manifest") -> "Manifest":
        """Validate and type a parsed manifest; anything else is ``SnapshotInvalid``."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SnapshotInvalid(f"{where} is not a {FORMAT} manifest" + _other_format_hint(data))
        try:
            entities = data.get("entities")
            return cls(created=data.get("created", ""), seconds=float(data.get("seconds", 0.0)),
                       source=Source.from_json(data["source"]), revision=data.get("revision"),
                       dump=DumpFile.from_json(data["dump"]),
                       tables=[TableEntry.from_json(t) for t in data["tables"]],
                       pieces=[PieceEntry.from_json(p) for p in data["pieces"]],
                       triggers=int(data.get("triggers", 0)),
                       entities=None if entities is None else {n: Fingerprint.from_json(f)
                                                               for n, f in entities.items()})
        except KeyError as exc:
            raise SnapshotInvalid(f"{where} is corrupt: {exc.args[0]!r} is missing") from None
        except (TypeError, ValueError, AttributeError) as exc:
            raise SnapshotInvalid(f"{where} is corrupt: {exc}") from None

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "created": self.created, "seconds": self.seconds, "source": self.source.to_json(),
                "revision": self.revision, "dump": self.dump.to_json(),
                "tables": [t.to_json() for t in self.tables], "pieces": [p.to_json() for p in self.pieces],
                "triggers": self.triggers,
                "entities": None if self.entities is None else {n: f.to_json() for n, f in self.entities.items()}}

    def text(self) -> str:
        """The file's text: one top-level key per line, each value compact."""
        return "{\n" + ",\n".join(f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}"
                                   for k, v in self.to_json().items()) + "\n}\n"

    # -- files -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike) -> "Manifest":
        """The manifest of the snapshot named by ``path`` (either file, or their common stem)."""
        _, manifest_path = snapshot_paths(path)
        try:
            data = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SnapshotInvalid(f"no manifest {manifest_path}: a snapshot is NAME{DUMP_SUFFIX} plus "
                                  f"NAME{MANIFEST_SUFFIX}") from None
        except (OSError, ValueError) as exc:
            raise SnapshotInvalid(f"the manifest {manifest_path} is unreadable or corrupt: {exc}") from None
        return cls.from_json(data, str(manifest_path))

    def save(self, path: str | os.PathLike) -> None:
        """Write a new manifest file (owner-only, never over an existing one), synced to disk."""
        with os.fdopen(open_private(path), "w", encoding="utf-8") as fh:
            fh.write(self.text())
            fh.flush()
            os.fsync(fh.fileno())
