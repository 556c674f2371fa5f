"""Reading a snapshot's dump file: its frames, its hash, its rows against the manifest."""
from __future__ import annotations

import hashlib
import os
import pathlib
from typing import Iterator

import zstandard

from ..errors import SnapshotInvalid
from ..mysql.dumptext import TableScan
from .manifest import Manifest, snapshot_paths

READ_BYTES = 1 << 20

Digests = dict[tuple[int, str], tuple[int, str]]   # (frame, table) -> (rows, sha256)


def dump_frames(dump: pathlib.Path) -> Iterator[tuple[int, bytes]]:
    """(frame number, block) of a snapshot's decompressed SQL text; each piece of the
    snapshot is one zstd frame."""
    decompressor = zstandard.ZstdDecompressor()
    obj = decompressor.decompressobj()
    frame, inside = 0, False
    try:
        with open(dump, "rb") as fh:
            for block in iter(lambda: fh.read(READ_BYTES), b""):
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


def check_dump_hash(dump: pathlib.Path, manifest: Manifest) -> None:
    if not dump.exists():
        raise SnapshotInvalid(f"the dump {dump} is missing")
    sha = hashlib.sha256()
    try:
        with open(dump, "rb") as fh:
            for chunk in iter(lambda: fh.read(READ_BYTES), b""):
                sha.update(chunk)
    except OSError as exc:
        raise SnapshotInvalid(f"cannot read {dump}: {exc.strerror}") from None
    if sha.hexdigest() != manifest.dump.sha256:
        raise SnapshotInvalid(f"{dump} does not match its manifest (SHA-256 differs): the file is corrupt or "
                              "was changed")


def differences(manifest: Manifest, found: Digests) -> list[str]:
    """What ``found`` — (frame, table) -> (rows, sha256) — says unlike the manifest's pieces."""
    problems = []
    for p in manifest.pieces:
        rows, sha = found.get((p.frame, p.table), (None, None))
        if (rows, sha) != (p.rows, p.sha256):
            problems.append(f"{p.label} ({rows if rows is not None else 'no'} rows, manifest {p.rows}"
                            + (", rows differ" if rows == p.rows else "") + ")")
    return problems


def verify_snapshot(path: str | os.PathLike) -> Manifest:
    """Check a snapshot against its manifest: the file's hash, then every table's rows, piece by piece."""
    manifest = Manifest.load(path)
    dump, _ = snapshot_paths(path)
    check_dump_hash(dump, manifest)
    scans: dict[int, TableScan] = {}
    for frame, chunk in dump_frames(dump):
        scans.setdefault(frame, TableScan()).feed(chunk)
    found = {(p.frame, p.table): scans.get(p.frame, TableScan()).result([p.table])[p.table]
             for p in manifest.pieces}
    problems = differences(manifest, found)
    if problems:
        raise SnapshotInvalid("snapshot rows differ from the manifest: " + ", ".join(problems))
    return manifest
