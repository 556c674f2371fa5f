"""rehearse, demo and runbook for the 1.6.0 path: the chain to 1.5.0, then the move into PostgreSQL.

The sequences call the 1.6.0 verbs (``api.move``) exactly as ``upgrade --to 1.6.0`` does, on
throwaway servers: a MariaDB (the rehearsal's backend, or the demo's seeded one) and a
``LocalPostgres`` whose database is owned by an md5 login role, as Harbor 1.6.0 uses it.
Both are torn down afterwards unless ``keep``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import tempfile
from typing import Any, Iterator

from ..chain.executor import Progress, UpgradeOptions
from ..errors import VerifyFailed
from ..postgres.settings import PgSettings
from ..safety.journal import Journal
from ..settings import ConnectionSettings
from ..tools.local_postgres import LocalPostgres
from ..tools.rehearse import MoveRehearsalReport, scratch_directory
from ..tools.runbook_move import build_move
from .move import MoveOutcome, plan_move, upgrade_to_postgres, verify_move
from .tools import DemoServer, rehearsal_server, rehearsal_snapshot, start_and_restore
from .verifying import VerifyReport, verify

# Harbor 1.6.0's names for its account and database (its harbor.cfg's db_user is postgres in the
# bundled container; on an external server the account is the DBA's choice, "harbor" here).
HARBOR_ROLE = "harbor"
HARBOR_DATABASE = "registry"


@dataclasses.dataclass
class ThrowawayTarget:
    settings: PgSettings          # the empty database, as Harbor's md5 account over TCP
    server: LocalPostgres

    @property
    def label(self) -> str:
        return f"PostgreSQL (local, port {self.server.port})"

    @property
    def kept_hint(self) -> str:
        pid = self.server.proc.pid if self.server.proc else "?"
        return (f"psql -h {self.server.socket_dir} -p {self.server.port} -U postgres {HARBOR_DATABASE}  "
                f"(stop: kill {pid})")


@contextlib.contextmanager
def throwaway_target(*, keep: bool = False, progress: Progress = lambda _: None) -> Iterator[ThrowawayTarget]:
    """A throwaway PostgreSQL with an empty ``registry`` owned by an md5 role (Harbor 1.6.0's lib/pq
    cannot do SCRAM); torn down on leaving unless ``keep``."""
    server = LocalPostgres(keep=keep)
    try:
        server.start()
        password = secrets.token_urlsafe(12)
        server.create_role(HARBOR_ROLE, password, md5=True)
        server.create_database(HARBOR_DATABASE, owner=HARBOR_ROLE)
        settings = server.settings(HARBOR_DATABASE, user=HARBOR_ROLE, password=password)
        progress(f"throwaway PostgreSQL {settings.masked_dsn()} (md5 role {HARBOR_ROLE})")
        yield ThrowawayTarget(settings, server)
    finally:
        if not keep:
            server.destroy()


def _fail_unless_ok(what: str, *reports: VerifyReport) -> None:
    bad = [c.line() for r in reports for c in r.checks if c.status.value == "fail"]
    if bad:
        raise VerifyFailed(f"{what} is not consistent: " + "; ".join(bad))


def rehearse_to_postgres(*, snapshot: str | None = None, source: ConnectionSettings | None = None,
                         backend: str = "local", image: str | None = None, pull: bool = False, keep: bool = False,
                         snapshot_dir: str | None = None,
                         progress: Progress = lambda _: None) -> MoveRehearsalReport:
    """``rehearse --to 1.6.0``: from a snapshot (or ``source``, snapshotted first), a throwaway MySQL
    restored from it and a throwaway PostgreSQL; plan, upgrade (chain, move) and verify both sides,
    with real timings. The chain's timings are journaled under production's key, as ``rehearse``'s."""
    snapshot, manifest = rehearsal_snapshot(snapshot, source, snapshot_dir, progress)
    server, journal = rehearsal_server(manifest, backend, image, pull, keep)
    try:
        settings, restore_seconds = start_and_restore(server, snapshot, manifest, progress)
        with throwaway_target(keep=keep, progress=lambda line: progress(f"rehearse: {line}")) as target:
            planned = plan_move(settings, target.settings, snapshot_dir=None,
                                journal=Journal(key="rehearsal-scratch", directory=scratch_directory()))
            outcome = upgrade_to_postgres(settings, target.settings, UpgradeOptions(), progress=progress,
                                          journal=journal, skip_checks=("free_space",))
            mysql_report = verify(settings, only=("schema", "data"), snapshot=snapshot)
            target_report = verify_move(settings, target.settings)
            hint = f"{server.connect_hint()}; {target.kept_hint}" if keep else None
            result = MoveRehearsalReport(backend, server.server_label(), target.label, snapshot, restore_seconds,
                                         planned, outcome, mysql_report, target_report, manifest.seconds, hint)
    finally:
        server.stop()
    _fail_unless_ok("the rehearsal's result", result.verify, result.verify_target)
    return result


def demo_move(demo: DemoServer, target: PgSettings, progress: Progress = lambda _: None) -> MoveOutcome:
    """The demo database (at 1.5.0 after ``demo_upgrade``, or earlier) moved into ``target`` through
    ``upgrade --to 1.6.0``'s own path; a snapshot is taken only if the chain has steps left."""
    snapdir = tempfile.mkdtemp(prefix="harbor-migrate-demo-snap-", dir=demo.directory)
    return upgrade_to_postgres(demo.settings, target, UpgradeOptions(), progress=progress, snapshot_dir=snapdir,
                               journal=Journal(demo.settings, directory=demo.directory))


def runbook_move(settings: ConnectionSettings, target: PgSettings, snapshot_dir: str, *, cfg: str | None = None,
                 registry: str | None = None, harbor: str | None = None, calibrate: bool = True) -> dict[str, Any]:
    """The 1.6.0 runbook for this environment as data (read-only on both sides: it runs ``plan --to 1.6.0``);
    ``runbook_markdown`` renders it."""
    report = plan_move(settings, target, snapshot_dir=snapshot_dir if os.path.isdir(snapshot_dir) else None,
                       calibrate=calibrate)
    return build_move(settings, target, report, snapshot_dir, cfg=cfg, registry=registry, harbor=harbor)
