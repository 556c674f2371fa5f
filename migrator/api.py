"""The library API: one function per command, called by the CLI and by tests.

Each takes connection settings (and options), does its work through the
planner/executor/snapshot modules, and returns a result object that renders to
text and JSON. Nothing here prints; progress goes to a callback.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from .db import Database, connect
from .errors import UnknownVersion, UsageError
from .executor import Progress, UpgradeOptions, UpgradeResult, locked_run, run_steps
from .guards import refuse_if_clients, require_privileges
from .journal import Journal
from .schema.diff import compare
from .schema.expected import expected, harbor_tables
from .schema.introspect import introspect
from .schema.revisions import HARBOR_VERSION_TO_REVISION, HEAD, MODELS
from .settings import ConnectionSettings
from .status import ORDER, Status, locate


def resolve_target(name: str) -> str:
    """``--to`` accepts Harbor versions (1.5.2) and revision ids (1.5.0)."""
    key = name.strip().lstrip("v")
    if key in HARBOR_VERSION_TO_REVISION:
        return HARBOR_VERSION_TO_REVISION[key]
    raise UnknownVersion(f"unknown target {name!r}: use a Harbor version (1.2.2, 1.3.0, 1.4.0, 1.5.2) "
                         f"or a revision id ({', '.join(ORDER[1:])})")


def status(settings: ConnectionSettings) -> Status:
    with connect(settings) as db:
        return locate(db)


@dataclasses.dataclass
class UpgradeOutcome:
    before: Status
    after: Status | None
    result: UpgradeResult | None
    noop: bool

    def to_json(self) -> dict:
        return {"noop": self.noop, "before": self.before.to_json(),
                "after": self.after.to_json() if self.after else None,
                "run": self.result.to_json() if self.result else None}


def start_revision(st: Status, from_revision: str | None) -> str:
    if from_revision:
        if from_revision not in MODELS:
            raise UnknownVersion(f"--from {from_revision}: known revisions are {', '.join(ORDER)}")
        return from_revision
    if st.start is None:
        raise UnknownVersion(st.message)
    return st.start


def upgrade(settings: ConnectionSettings, options: UpgradeOptions | None = None, *,
            from_revision: str | None = None, force_clients: bool = False,
            confirm: Callable[[Status, str, str], bool] = lambda s, a, b: True,
            progress: Progress = lambda _: None, should_stop: Callable[[], bool] = lambda: False,
            journal: Journal | None = None, before_run: Callable[[Database, Status], None] | None = None) -> UpgradeOutcome:
    """Upgrade to ``options.target``; a database already there is a no-op."""
    options = options or UpgradeOptions()
    with connect(settings) as db:
        before = locate(db)
        start = start_revision(before, from_revision)
        target = options.target
        if ORDER.index(target) < ORDER.index(start):
            raise UnknownVersion(f"the database is at {start}, past the target {target}: harbor-migrate does not "
                                 "downgrade; restore the snapshot taken before the upgrade instead")
        if start == target and before.state != "dirty":
            return UpgradeOutcome(before, before, None, True)
        require_privileges(db)
        refuse_if_clients(db, force_clients)
        if not confirm(before, start, target):
            from .errors import Aborted
            raise Aborted("nothing changed: the upgrade was not confirmed (pass --yes to skip the question)")
        journal = journal or Journal(settings)

        def body() -> UpgradeResult:
            if before_run:
                before_run(db, before)
            journal({"event": "run_start", "from": start, "to": target, "server": db.server_info().label})
            result = run_steps(db, start, options, progress, should_stop, journal)
            journal({"event": "run_done", "seconds": round(result.seconds, 4)})
            return result

        result = locked_run(db, body)
        after = locate(db)
        return UpgradeOutcome(before, after, result, False)


def schema_drift(db: Database, revision: str = HEAD):
    """Differences between the live schema and a fresh ``revision`` on this server."""
    return compare(expected(revision, db.server_info()), harbor_tables(introspect(db)))
