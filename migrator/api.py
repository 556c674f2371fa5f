"""The library API: one function per command, called by the CLI and by tests.

Each takes connection settings (and options), does its work through the
planner/executor/snapshot modules, and returns a result object that renders to
text and JSON. Nothing here prints; progress goes to a callback.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from .mysql.connection import Database, connect
from .errors import UnknownVersion, UsageError
from .chain.executor import Progress, UpgradeOptions, UpgradeResult, locked_run, run_chain
from .safety.preflight import raise_on_failures, run_preflight
from .safety.journal import Journal
from .schema.diff import compare
from .schema.expected import expected, harbor_tables
from .schema.introspect import introspect
from .settings import ConnectionSettings
from .chain import revisions as chain
from .chain.revisions import HEAD, ORDER, resolve_start, resolve_target  # noqa: F401  (the CLI calls them through api)
from .chain.status import Status, locate


def status(settings: ConnectionSettings) -> Status:
    with connect(settings) as db:
        return locate(db)


@dataclasses.dataclass
class UpgradeOutcome:
    before: Status
    after: Status | None
    result: UpgradeResult | None
    noop: bool
    snapshot: str | None = None

    def to_json(self) -> dict:
        return {"noop": self.noop, "snapshot": self.snapshot, "before": self.before.to_json(),
                "after": self.after.to_json() if self.after else None,
                "run": self.result.to_json() if self.result else None}


def start_revision(st: Status, from_revision: str | None) -> str:
    if from_revision:
        if not chain.is_known(from_revision):
            raise UnknownVersion(f"--from {from_revision}: known revisions are {', '.join(ORDER)}")
        return from_revision
    if st.start is None:
        raise UnknownVersion(st.message)
    return st.start


def upgrade(settings: ConnectionSettings, options: UpgradeOptions | None = None, *,
            from_revision: str | None = None, force_clients: bool = False,
            confirm: Callable[[Status, str, str], bool] = lambda s, a, b: True,
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
        if start == target and before.state != "dirty":
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
            from .errors import Aborted
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


def _snapshot_or_previous(db: Database, before: Status, directory: str, journal: Journal,
                          progress: Progress) -> str | None:
    from .snapshot.take import take_snapshot

    # Snapshots of runs that did not finish: the first of them is where this upgrade began.
    unfinished: list[str] = []
    for e in journal.events():
        if e.get("event") == "run_done":
            unfinished = []
        elif e.get("event") == "snapshot" and e.get("path"):
            unfinished.append(e["path"])
    if before.state == "dirty":
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


@dataclasses.dataclass
class PlannedOp:
    name: str
    kind: str
    tables: list[str]
    rewrites: bool
    rows: int
    seconds: float
    estimate_source: str
    sql: list[str]


@dataclasses.dataclass
class PlannedStep:
    revision: str
    summary: str
    ops: list[PlannedOp]

    @property
    def seconds(self) -> float:
        return sum(o.seconds for o in self.ops)


@dataclasses.dataclass
class PlanReport:
    database: str
    server: str
    start: str | None
    target: str
    checks: list
    steps: list[PlannedStep]
    snapshot_seconds: float
    rates_source: str

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    @property
    def downtime_seconds(self) -> float:
        return self.seconds + self.snapshot_seconds

    @property
    def ok(self) -> bool:
        return not any(c.status.value == "fail" for c in self.checks)

    def to_json(self) -> dict:
        return {
            "database": self.database, "server": self.server, "from": self.start, "to": self.target,
            "ok": self.ok, "checks": [c.to_json() for c in self.checks],
            "steps": [{"revision": s.revision, "summary": s.summary, "seconds": round(s.seconds, 3), "operations": [
                {"name": o.name, "kind": o.kind, "tables": o.tables, "rewrites_table": o.rewrites, "rows": o.rows,
                 "estimated_seconds": round(o.seconds, 3), "estimate_source": o.estimate_source, "sql": o.sql}
                for o in s.ops]} for s in self.steps],
            "estimated_seconds": round(self.seconds, 3), "snapshot_seconds": round(self.snapshot_seconds, 3),
            "expected_downtime_seconds": round(self.downtime_seconds, 3), "rates": self.rates_source,
        }


def plan(settings: ConnectionSettings, target: str = HEAD, *, from_revision: str | None = None,
         snapshot_dir: str | None = ".", harbor_user: str | None = None, skip_checks: tuple[str, ...] = (),
         calibrate: bool = True, journal: Journal | None = None) -> PlanReport:
    """Pre-flight, steps, SQL and estimates — in a read-only session."""
    from .chain.estimate import Rates, calibrate as run_calibration, estimate_op, journal_rates, table_sizes
    from .safety.preflight import run_preflight
    from .chain.planner import render_steps

    journal = journal or Journal(settings)
    with connect(settings) as db:
        db.execute("SET SESSION TRANSACTION READ ONLY")
        live = introspect(db)
        try:
            st = locate(db, live)
        except UnknownVersion:
            st = None
            if not from_revision:
                raise
        checks = run_preflight(db, st, live, target=target, snapshot_dir=snapshot_dir, harbor_user=harbor_user,
                               skip=tuple(skip_checks) + (("revision",) if from_revision else ()))
        start = start_revision(st, from_revision) if (st or from_revision) else None
        steps: list[PlannedStep] = []
        recorded = journal_rates(journal)
        rates = Rates(2e-6, 3e-6, 100.0, "default")
        sizes = table_sizes(db)
        if start is not None and chain.index(target) > chain.index(start):
            if calibrate and not recorded:
                try:
                    rates = run_calibration(db)
                except Exception as exc:  # e.g. no CREATE TEMPORARY TABLES: plan still works
                    rates = Rates(2e-6, 3e-6, 100.0, f"default (calibration not possible: {str(exc)[:80]})")
            for rs in render_steps(db, start, target, live):
                ops = []
                for o in rs.ops:
                    main = o.tables[0] if o.tables else ""
                    size = sizes.get(main)
                    rows = size.rows if size else 0
                    width = size.avg_row_bytes if size else 100.0
                    seconds, how = estimate_op(o.kind, o.rewrites, rs.revision, o.name, rows, width, rates,
                                               recorded)
                    ops.append(PlannedOp(o.name, o.kind, list(o.tables), o.rewrites, rows, seconds, how,
                                         o.statements))
                steps.append(PlannedStep(rs.revision, rs.summary, ops))
        total_rows = sum(s.rows for s in sizes.values())
        # A snapshot takes about 0.3 of what the server's copy of the same rows costs (1M rows:
        # 0.86-1.04 s against ~3.5 s for access_log's copy, docs/benchmarks.md).
        snapshot_seconds = total_rows * rates.copy_row * 0.3
        return PlanReport(db.settings.masked_dsn(), db.server_info().label, start, target, checks, steps,
                          snapshot_seconds, "journal" if recorded else rates.source)


@dataclasses.dataclass
class VerifyReport:
    database: str
    sections: dict[str, list]
    snapshot: str | None = None        # the manifest data was compared with
    not_compared: str | None = None    # why data was not compared with a snapshot, when it was wanted

    @property
    def checks(self) -> list:
        return [c for checks in self.sections.values() for c in checks]

    @property
    def ok(self) -> bool:
        return not any(c.status.value == "fail" for c in self.checks)

    def exit_code(self) -> int:
        codes = {c.exit_code or 13 for c in self.checks if c.status.value == "fail"}
        if not codes:
            return 0
        return codes.pop() if len(codes) == 1 else 13

    @property
    def verdict(self) -> str:
        """``consistent`` / ``NOT consistent``, saying so when data was not compared with a snapshot."""
        return ("consistent" if self.ok else "NOT consistent") + (f" ({self.not_compared})" if self.not_compared
                                                                  else "")

    def to_json(self) -> dict:
        return {"database": self.database, "ok": self.ok, "verdict": self.verdict, "snapshot": self.snapshot,
                "sections": {k: [c.to_json() for c in v] for k, v in self.sections.items()}}

    def markdown(self) -> str:
        lines = [f"# harbor-migrate verification of {self.database}", "",
                 f"Result: **{'consistent' if self.ok else 'NOT consistent'}**"
                 + (f" ({self.not_compared})" if self.not_compared else ""), ""]
        for section, checks in self.sections.items():
            lines += [f"## {section}", "", "| check | status | result |", "| --- | --- | --- |"]
            for c in checks:
                lines.append(f"| {c.name} | {c.status.value} | {c.message.replace('|', '/')} |")
            details = [(c.name, d) for c in checks for d in c.details]
            if details:
                lines += ["", "Details:", ""] + [f"- {n}: {d}" for n, d in details[:500]]
            lines.append("")
        return "\n".join(lines)


def verify_snapshot(path: str):
    """Check a snapshot against its manifest (the file's hash, then each piece's rows); its Manifest."""
    from .archive.frames import verify_snapshot as check

    return check(path)


SECTIONS = ("schema", "data", "adminserver", "registry", "harbor")


def last_upgrade_snapshot(journal: Journal) -> str | None:
    """The snapshot the last upgrade of this database recorded in its journal (None: none did).

    A resumed run takes none, so the last "snapshot" event is still the one its upgrade began
    from (``_snapshot_or_previous``); a rehearsal's records are about a throwaway copy."""
    path = None
    for e in journal.events():
        if e.get("event") == "snapshot" and e.get("path") and not e.get("rehearsal"):
            path = str(e["path"])
    return path


def verify(settings: ConnectionSettings, *, only: tuple[str, ...] = (), snapshot: str | None = None,
           with_admiral: bool = False, adminserver: str | None = None, adminserver_secret: str | None = None,
           registry: str | None = None, registry_user: str | None = None, registry_password: str | None = None,
           harbor: str | None = None, harbor_user: str | None = None, harbor_password: str | None = None,
           timeout: float = 10.0, harbor_db_user: str | None = None, no_snapshot: bool = False,
           journal: Journal | None = None) -> VerifyReport:
    """Every requested section; a section whose endpoint is not given is skipped with a note.

    Data is compared with ``snapshot``, else with the snapshot of this database's last upgrade
    (its journal), unless ``no_snapshot``: then only the invariants, and the verdict says so.
    """
    from .verdicts import Check, Status
    from .archive.manifest import Manifest, snapshot_paths
    from .verify.database import verify_data, verify_schema
    from .errors import ExitCode

    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        raise UsageError(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    if snapshot and no_snapshot:
        raise UsageError("--snapshot and --no-snapshot contradict each other: pass one of them")
    wanted = only or SECTIONS
    sections: dict[str, list] = {}
    manifest_path = not_compared = None
    with connect(settings) as db:
        from .chain.status import check_is_harbor

        check_is_harbor(introspect(db), db)
        if "schema" in wanted:
            sections["schema"] = [verify_schema(db)]
        if "data" in wanted:
            recorded = None if snapshot or no_snapshot else last_upgrade_snapshot(journal or Journal(settings))
            snapshot = snapshot or recorded
            manifest_path = str(snapshot_paths(snapshot)[1]) if snapshot else None
            if recorded and not snapshot_paths(recorded)[1].exists():
                sections["data"] = [c for c in verify_data(db, None) if c.name != "data"] + [Check(
                    "data.snapshot", Status.FAIL, f"{manifest_path}, the snapshot of this database's last upgrade "
                    "(journal), is gone: pass --snapshot with its copy, or --no-snapshot to check the invariants only",
                    exit_code=int(ExitCode.SNAPSHOT_INVALID))]
                manifest_path = None
            else:
                manifest = Manifest.load(snapshot) if snapshot else None
                sections["data"] = verify_data(db, manifest, with_admiral=with_admiral,
                                               dump=snapshot_paths(snapshot)[0] if snapshot else None)
                if recorded:
                    sections["data"].insert(0, Check("data.snapshot", Status.OK, f"compared with {manifest_path}, "
                                                     "the snapshot of this database's last upgrade (journal)"))
            if not snapshot:
                compared = ("schema and invariants only" if "schema" in wanted else "invariants only")
                not_compared = f"{compared}: " + ("--no-snapshot" if no_snapshot else "no snapshot to compare data with")
        if "adminserver" in wanted:
            if adminserver:
                from .verify.adminserver import verify_adminserver
                harbor_conn = dataclasses.replace(settings, user=harbor_db_user) if harbor_db_user else settings
                sections["adminserver"] = verify_adminserver(adminserver, adminserver_secret, harbor_conn,
                                                             timeout=timeout)
            elif only:
                sections["adminserver"] = [Check("adminserver", Status.FAIL, "--adminserver URL is required",
                                                 exit_code=2)]
        if "registry" in wanted:
            if registry:
                from .verify.registry import verify_registry
                sections["registry"] = verify_registry(db, registry, username=registry_user,
                                                       password=registry_password, timeout=timeout)
            elif only:
                sections["registry"] = [Check("registry", Status.FAIL, "--registry URL is required", exit_code=2)]
        if "harbor" in wanted:
            if harbor:
                from .verify.harbor_api import verify_harbor
                sections["harbor"] = verify_harbor(db, harbor, username=harbor_user or "admin",
                                                   password=harbor_password or "", timeout=timeout)
            elif only:
                sections["harbor"] = [Check("harbor", Status.FAIL, "--harbor URL is required", exit_code=2)]
    skipped = [s for s in wanted if s not in sections]
    if skipped:
        sections["skipped"] = [Check(s, Status.SKIP, f"not checked: pass --{s} URL" if s != "data" else
                                     "not checked") for s in skipped]
    return VerifyReport(settings.masked_dsn(), sections, manifest_path if "data" in wanted else None, not_compared)
