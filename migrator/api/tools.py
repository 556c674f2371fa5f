"""rehearse, runbook and demo: the upgrade on a throwaway copy, the DBA's runbook, the whole job on a
throwaway server. The sequences that call plan/upgrade/verify live here, in the api, so that the
tools below it (tools/) never call back up into it."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import secrets
import tempfile
import time
from typing import Any, Iterator

from ..archive.manifest import Manifest
from ..chain import revisions as chain
from ..chain.executor import Progress, UpgradeOptions
from ..errors import VerifyFailed
from ..mysql.connection import connect
from ..safety.journal import Journal
from ..settings import ConnectionSettings
from ..snapshot.restore import restore_snapshot
from ..snapshot.take import take_snapshot
from ..tools.local_server import LocalServer
from ..tools.rehearsal.backends import default_image_for, get_backend
from ..tools.rehearse import RehearsalReport, scratch_directory, server_options
from ..tools.runbook import build, markdown
from ..tools.runbook_move import markdown_move
from ..tools.seed import seed_050
from .planning import plan
from .upgrading import UpgradeOutcome, upgrade
from .verifying import verify


def rehearse(*, snapshot: str | None = None, source: ConnectionSettings | None = None, backend: str = "local",
             image: str | None = None, pull: bool = False, keep: bool = False, snapshot_dir: str | None = None,
             target: str = chain.HEAD, progress: Progress = lambda _: None) -> RehearsalReport:
    """From a snapshot file (or ``source``, snapshotted first): a throwaway server matching
    production, restore, plan, upgrade, verify, timings; the timings journaled under the
    *production* database's key, so that ``plan`` on production estimates from them."""
    snapshot, manifest = rehearsal_snapshot(snapshot, source, snapshot_dir, progress)
    server, journal = rehearsal_server(manifest, backend, image, pull, keep)
    try:
        settings, restore_seconds = start_and_restore(server, snapshot, manifest, progress)
        planned = plan(settings, target, snapshot_dir=None, journal=Journal(key="rehearsal-scratch",
                                                                           directory=scratch_directory()))
        outcome = upgrade(settings, UpgradeOptions(target=target), progress=progress, journal=journal,
                          skip_checks=("free_space",))
        report = verify(settings, only=("schema", "data"), snapshot=snapshot)
        hint = server.connect_hint() if keep else None
        result = RehearsalReport(backend, server.server_label(), snapshot, restore_seconds, planned, outcome, report,
                                 manifest.seconds, hint)
    finally:
        server.stop()
    if not report.ok:
        raise VerifyFailed("the rehearsal's result is not consistent: " + "; ".join(
            c.line() for c in report.checks if c.status.value == "fail"))
    return result


def rehearsal_snapshot(snapshot: str | None, source: ConnectionSettings | None, snapshot_dir: str | None,
                       progress: Progress) -> tuple[str, Manifest]:
    """The snapshot to rehearse from: the one given, or one of ``source`` taken now."""
    if source is not None and snapshot is None:
        directory = snapshot_dir or tempfile.mkdtemp(prefix="harbor-migrate-rehearsal-")
        with connect(source) as db:
            progress(f"rehearse: snapshot of {source.masked_dsn()} into {directory}")
            snapshot = str(take_snapshot(db, directory, progress=progress))
    assert snapshot is not None
    return snapshot, Manifest.load(snapshot)


def rehearsal_server(manifest: Manifest, backend: str, image: str | None, pull: bool,
                     keep: bool) -> tuple[Any, Journal]:
    """The throwaway MySQL server matching production (not started) and the journal under production's key."""
    src = manifest.source
    options: dict[str, Any] = {"server_options": server_options(src), "keep": keep}
    if backend == "docker":
        options["image"] = default_image_for(src.flavour, src.version_tuple, image)
        options["pull"] = pull
    journal = Journal(key=src.server_key or src.database)
    journal.extra = {"rehearsal": backend}
    return get_backend(backend, **options), journal


def start_and_restore(server: Any, snapshot: str, manifest: Manifest,
                      progress: Progress) -> tuple[ConnectionSettings, float]:
    """Start the throwaway server and restore the snapshot into it: its settings and the restore's seconds."""
    root = server.start()
    progress(f"rehearse: {server.server_label()} started")
    settings = dataclasses.replace(root, database=manifest.source.database)
    t0 = time.monotonic()
    restore_snapshot(snapshot, settings, progress=progress)
    restore_seconds = time.monotonic() - t0
    progress(f"rehearse: restored in {restore_seconds:.2f}s")
    return settings, restore_seconds


def runbook(settings: ConnectionSettings, snapshot_dir: str, *, cfg: str | None = None, registry: str | None = None,
            harbor: str | None = None, calibrate: bool = True) -> dict[str, Any]:
    """The runbook for this database as data (read-only: it runs ``plan``); ``runbook_markdown`` renders it.
    The plan checks the snapshot directory's free space only when the directory exists."""
    report = plan(settings, snapshot_dir=snapshot_dir if os.path.isdir(snapshot_dir) else None, calibrate=calibrate)
    return build(settings, report, snapshot_dir, cfg=cfg, registry=registry, harbor=harbor)


def runbook_markdown(book: dict[str, Any]) -> str:
    """Either runbook as Markdown: the MySQL one, or the 1.6.0 one (``runbook_move``'s, ``to`` = 1.6.0)."""
    return markdown_move(book) if book.get("to") == chain.PG_TARGET.id else markdown(book)


@dataclasses.dataclass
class DemoServer:
    settings: ConnectionSettings   # the seeded 0.5.0 database, as the harbor account over TCP
    directory: pathlib.Path        # the throwaway server's directory (journal, snapshot)
    kept_hint: str                 # how to connect when the server is kept


@contextlib.contextmanager
def demo_server(*, log_rows: int, timestamps: str, keep: bool,
                progress: Progress = lambda _: None) -> Iterator[DemoServer]:
    """A throwaway MariaDB (timestamp rules as ``mysql56`` or ``mysql8`` had them) with a realistic
    Harbor 0.5.0 database seeded; torn down on leaving unless ``keep``."""
    mode = "OFF" if timestamps == "mysql56" else "ON"
    server = LocalServer({"explicit-defaults-for-timestamp": mode}, keep=keep)
    try:
        server.start()
        password = secrets.token_urlsafe(12)
        server.create_user("harbor", password)
        server.create_database("registry")
        settings = server.settings("registry", user="harbor", password=password, tcp=True)
        progress(f"demo: throwaway {settings.masked_dsn()} (explicit_defaults_for_timestamp={mode})")
        with connect(settings) as db:
            seed_050(db, sample=True, log_rows=log_rows)
        progress(f"demo: seeded a Harbor 0.5.0 database with {log_rows + 7} access_log rows")
        yield DemoServer(settings, server.dir,
                         f"mariadb --socket={server.socket} -uroot registry  (stop: kill {server.proc.pid})")
    finally:
        if not keep:
            server.destroy()


def demo_upgrade(demo: DemoServer, progress: Progress = lambda _: None) -> UpgradeOutcome:
    """The demo database upgraded to HEAD, snapshot and journal in the throwaway server's directory."""
    snapdir = tempfile.mkdtemp(prefix="harbor-migrate-demo-snap-", dir=demo.directory)
    return upgrade(demo.settings, UpgradeOptions(), progress=progress, snapshot_dir=snapdir,
                   journal=Journal(demo.settings, directory=demo.directory))
