"""snapshot and restore: the snapshot file taken from a database, and put back into one."""
from __future__ import annotations

import pathlib

from ..archive.manifest import Manifest
from ..mysql.connection import connect
from ..settings import ConnectionSettings
from ..snapshot.restore import restore_snapshot
from ..snapshot.take import Progress, take_snapshot


def snapshot(settings: ConnectionSettings, directory: str, *, name: str | None = None,
             progress: Progress = lambda _: None) -> pathlib.Path:
    """Take a consistent, checksummed snapshot of the database; returns its manifest's path."""
    with connect(settings) as db:
        return take_snapshot(db, directory, name=name, progress=progress)


def restore(file: str, settings: ConnectionSettings, *, force: bool = False,
            progress: Progress = lambda _: None) -> Manifest:
    """Restore the snapshot ``file`` into ``settings``' database, checked against its manifest."""
    return restore_snapshot(file, settings, force=force, progress=progress)
