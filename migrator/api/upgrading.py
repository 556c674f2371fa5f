"""status, upgrade and the schema drift: where the database stands, and the chain run under the lock."""
from __future__ import annotations

import dataclasses
from typing import Callable

from ..mysql.connection import Database, connect
from ..errors import UnknownVersion
from ..chain.executor import Progress, UpgradeOptions, UpgradeResult, locked_run, run_chain
from ..safety.preflight import raise_on_failures, run_preflight
from ..safety.journal import Journal
from ..schema.diff import compare
from ..schema.expected import expected, harbor_tables
from ..schema.introspect import introspect
from ..settings import ConnectionSettings
from ..chain import revisions as chain
from ..chain.revisions import HEAD, ORDER
from ..chain.status import DatabaseState, State, locate
from ..errors import Aborted
from ..snapshot.take import take_snapshot


def status(settings: ConnectionSettings) -> DatabaseState:
    with connect(settings) as db:
        return locate(db)


@dataclasses.dataclass
class UpgradeOutcome:
    before: DatabaseState
    after: DatabaseState | None
    result: UpgradeResult | None
    noop: bool
    snapshot: str | None = None

    def to_json(self) -> dict:
        return {"noop": self.noop, "snapshot": self.snapshot, "before": self.before.to_json(),
                "after": self.after.to_json() if self.after else None,
                "run": self.result.to_json() if self.result else None}


def start_revision(st: DatabaseState, from_revision: str | None) -> str:
    if from_revision:
        if not chain.is_known(from_revision):
            raise UnknownVersion(f"--from {from_revision}: known revisions are {', '.join(ORDER)}")
        return from_revision
    if st.start is None:
        raise UnknownVersion(st.message)
    return st.start


def upgrade(settings: ConnectionSettings, options: UpgradeOptions | None = None, *,
            from_revision: str | None = None, force_clients: bool = False,
            confirm: Callable[[DatabaseState, str, str], bool] = lambda s, a, b: True,
            progress: Progress = lambda _: None, should_stop: Callable[[], bool] = lambda: False,
            journal: Journal | None = None,
            skip_checks: tuple[str, ...] = (), snapshot_dir: str | None = None,
            harbor_user: str | None = None) -> UpgradeOutcome:
    """Upgrade to ``options.target``; a database already there is a no-op.

    With ``snapshot_dir``, a snapshot is taken first (under the run lock, before
    anything changes). A resumed run (the database is dirty) takes none: the
    snapshot to roll back to is the first run's, named in the journal.
    """
    options = options or UpgradeOptions()
    with connect(settings) as db:
        live = introspect(db)
        before = locate(db, live)
        start = start_revision(before, from_revision)
        target = options.target
        if chain.index(target) < chain.index(start):
            raise UnknownVersion(f"the database is at {start}, past the target {target}: harbor-migrate does not "
                                 "downgrade; restore the snapshot taken before the upgrade instead")
        if start == target and before.state is not State.DIRTY:
            return UpgradeOutcome(before, before, None, True)
        skip = tuple(skip_checks) + (("other_clients",) if force_clients else ()) + \
            (("revision",) if from_revision else ())  # --from is the user's word on the revision
        checks = run_preflight(db, before, live, target=target, snapshot_dir=snapshot_dir,
                               harbor_user=harbor_user, skip=skip, report=False)
        for c in checks:
            if c.status.value != "ok":
                progress(f"pre-flight {c.line()}")
        raise_on_failures(checks)
        if not confirm(before, start, target):
            raise Aborted("nothing changed: the upgrade was not confirmed (pass --yes to skip the question)")
        journal = journal or Journal(settings)

        snapshot: list[str] = []

        def body() -> UpgradeResult:
            if snapshot_dir is not None:
                snapshot.append(_snapshot_or_previous(db, before, snapshot_dir, journal, progress))
            journal({"event": "run_start", "from": start, "to": target, "server": db.server_info().label})
            result = run_chain(db, start, options, progress, should_stop, journal)
            journal({"event": "run_done", "seconds": round(result.seconds, 4)})
            return result

        result = locked_run(db, body)
        after = locate(db)
        return UpgradeOutcome(before, after, result, False, snapshot[0] if snapshot else None)


def _snapshot_or_previous(db: Database, before: DatabaseState, directory: str, journal: Journal,
                          progress: Progress) -> str | None:

    # Snapshots of runs that did not finish: the first of them is where this upgrade began.
    unfinished: list[str] = []
    for e in journal.events():
        if e.get("event") == "run_done":
            unfinished = []
        elif e.get("event") == "snapshot" and e.get("path"):
            unfinished.append(e["path"])
    if before.state is State.DIRTY:
        where = unfinished[0] if unfinished else None
        progress("snapshot: skipped — resuming a half-done upgrade; roll back with the snapshot of the first run"
                 + (f": {where}" if where else " (not in this machine's journal)"))
        return where
    path = str(take_snapshot(db, directory, progress=progress).resolve())
    journal({"event": "snapshot", "path": path})
    progress(f"snapshot: {path} (to roll back: harbor-migrate restore {path} --force)")
    if unfinished:
        progress(f"note: an earlier run of this upgrade stopped between revisions; to return to where it began, "
                 f"restore {unfinished[0]} instead")
    return path


def schema_drift(db: Database, revision: str = HEAD):
    """Differences between the live schema and a fresh ``revision`` on this server."""
    return compare(expected(revision, db.server_info()), harbor_tables(introspect(db)))


