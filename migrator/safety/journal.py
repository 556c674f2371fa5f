"""The journal: what each run did, when, and how long each operation took.

The database itself says what is done (every operation has a probe), so the
journal is the record, not the source of truth: status, resume and the
estimates of ``plan`` read it, and losing it loses nothing. One JSON line per
event under the state directory, per server and database.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import pathlib
from typing import Any, Iterator

from ..common.files import open_private
from ..settings import ConnectionSettings, state_dir


class Journal:
    def __init__(self, settings: ConnectionSettings | None = None, directory: pathlib.Path | None = None,
                 run_id: str | None = None, key: str | None = None):
        """The journal of ``settings``' server and database (or of an explicit ``key``:
        a rehearsal writes its timings under the production database's key)."""
        self.key = key or (settings.server_key() if settings else "unknown")
        self.dir = (directory or state_dir()) / self.key
        self.path = self.dir / "journal.jsonl"
        self.run_id = run_id or _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        self.extra: dict[str, Any] = {}  # added to every record (e.g. {"rehearsal": "docker"})

    def __call__(self, event: dict[str, Any]) -> None:
        self.write(event)

    def write(self, event: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        record = {"time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds"),
                  "run": self.run_id, **self.extra, **event}
        fd = open_private(self.path, exclusive=False, append=True)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def events(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return iter(())
        def read() -> Iterator[dict[str, Any]]:
            with open(self.path, encoding="utf-8") as fh:
                for line in fh:
                    line = line.strip()
                    if line:
                        try:
                            yield json.loads(line)
                        except ValueError:
                            continue  # a line cut by a crash
        return read()
