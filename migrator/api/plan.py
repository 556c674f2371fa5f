"""plan: pre-flight, steps, SQL and estimates, in a read-only session."""
from __future__ import annotations

import dataclasses

from ..mysql.connection import connect
from ..errors import UnknownVersion
from ..safety.journal import Journal
from ..schema.introspect import introspect
from ..settings import ConnectionSettings
from ..chain import revisions as chain
from ..chain.revisions import HEAD
from ..chain.status import locate
from .upgrade import start_revision
from ..chain.estimate import Rates, calibrate as run_calibration, estimate_op, journal_rates, table_sizes
from ..safety.preflight import run_preflight
from ..chain.planner import render_steps


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


