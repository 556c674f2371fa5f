"""The whole upgrade on a throwaway copy, with real timings, before production is touched.

From a snapshot file (or a live database, snapshotted first): start a
throwaway server (``local`` binary or ``docker`` image matching production),
restore, plan, upgrade, verify, report per-step timings and the expected
production downtime, tear down. The timings are journaled under the
*production* database's key, so ``plan`` on production estimates from them.
"""
from __future__ import annotations

import dataclasses
import tempfile
import time
from typing import Any, Callable

from ..mysql.connection import connect
from ..errors import VerifyFailed
from ..chain import revisions as chain
from ..chain.executor import UpgradeOptions
from ..safety.journal import Journal
from ..settings import ConnectionSettings
from ..archive.manifest import Manifest, Source
from ..snapshot.take import take_snapshot

Progress = Callable[[str], None]


@dataclasses.dataclass
class RehearsalReport:
    backend: str
    server: str
    snapshot: str
    restore_seconds: float
    plan: Any
    upgrade: Any
    verify: Any
    snapshot_seconds: float
    hint: str | None

    @property
    def downtime_seconds(self) -> float:
        """Production downtime: its snapshot plus the upgrade as rehearsed."""
        return self.snapshot_seconds + (self.upgrade.result.seconds if self.upgrade.result else 0.0)

    def to_json(self) -> dict:
        return {"backend": self.backend, "server": self.server, "snapshot": self.snapshot,
                "restore_seconds": round(self.restore_seconds, 3), "snapshot_seconds": round(self.snapshot_seconds, 3),
                "plan": self.plan.to_json(), "upgrade": self.upgrade.to_json(), "verify": self.verify.to_json(),
                "expected_downtime_seconds": round(self.downtime_seconds, 3), "connect_hint": self.hint}


def _server_options(src: Source) -> dict[str, str]:
    """Imitate production: its timestamp rules and sql_mode."""
    options = {"explicit-defaults-for-timestamp": "ON" if src.explicit_defaults_for_timestamp else "OFF"}
    if src.sql_mode is not None:
        options["sql-mode"] = src.sql_mode
    return options


def rehearse(*, snapshot: str | None = None, source: ConnectionSettings | None = None, backend: str = "local",
             image: str | None = None, pull: bool = False, keep: bool = False, snapshot_dir: str | None = None,
             target: str = chain.HEAD, progress: Progress = lambda _: None) -> RehearsalReport:
    from .. import api
    from .rehearsal.backends import default_image_for, get_backend
    from ..snapshot.restore import restore_snapshot

    if source is not None and snapshot is None:
        directory = snapshot_dir or tempfile.mkdtemp(prefix="harbor-migrate-rehearsal-")
        with connect(source) as db:
            progress(f"rehearse: snapshot of {source.masked_dsn()} into {directory}")
            snapshot = str(take_snapshot(db, directory, progress=progress))
    assert snapshot is not None
    manifest = Manifest.load(snapshot)
    src = manifest.source
    options: dict[str, Any] = {"server_options": _server_options(src), "keep": keep}
    if backend == "docker":
        options["image"] = default_image_for(src.flavour, src.version_tuple, image)
        options["pull"] = pull
    server = get_backend(backend, **options)
    journal = Journal(key=src.server_key or src.database)
    journal.extra = {"rehearsal": backend}
    try:
        root = server.start()
        progress(f"rehearse: {server.server_label()} started")
        settings = dataclasses.replace(root, database=src.database)
        t0 = time.monotonic()
        restore_snapshot(snapshot, settings, progress=progress)
        restore_seconds = time.monotonic() - t0
        progress(f"rehearse: restored in {restore_seconds:.2f}s")
        plan = api.plan(settings, target, snapshot_dir=None, journal=Journal(key="rehearsal-scratch",
                                                                             directory=_scratch()))
        outcome = api.upgrade(settings, UpgradeOptions(target=target), progress=progress, journal=journal,
                              skip_checks=("free_space",))
        report = api.verify(settings, only=("schema", "data"), snapshot=snapshot)
        hint = server.connect_hint() if keep else None
        result = RehearsalReport(backend, server.server_label(), snapshot, restore_seconds, plan, outcome, report,
                                 manifest.seconds, hint)
    finally:
        server.stop()
    if not report.ok:
        raise VerifyFailed("the rehearsal's result is not consistent: " + "; ".join(
            c.line() for c in report.checks if c.status.value == "fail"))
    return result


def _scratch():
    import pathlib

    return pathlib.Path(tempfile.gettempdir()) / "harbor-migrate-scratch"
