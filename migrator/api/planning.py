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
from .upgrading import start_revision
from ..chain.estimate import Rates, calibrate as run_calibration, estimate_op, journal_rates, table_sizes
from ..safety.preflight import run_preflight
from ..chain.planner import PlannedOp, PlannedStep, render_steps  # noqa: F401  (PlannedOp: re-exported by the API)


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
            "steps": [s.to_json() for s in self.steps],
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
            steps = render_steps(db, start, target, live)
            for step in steps:
                for o in step.ops:
                    size = sizes.get(o.tables[0]) if o.tables else None
                    o.rows = size.rows if size else 0
                    width = size.avg_row_bytes if size else 100.0
                    o.seconds, o.estimate_source = estimate_op(o.kind, o.rewrites, step.revision, o.name, o.rows,
                                                               width, rates, recorded)
        total_rows = sum(s.rows for s in sizes.values())
        # A snapshot takes about 0.3 of what the server's copy of the same rows costs (the figures
        # behind the factor: docs/benchmarks.md, "plan's estimate against the real upgrade").
        snapshot_seconds = total_rows * rates.copy_row * 0.3
        return PlanReport(db.settings.masked_dsn(), db.server_info().label, start, target, checks, steps,
                          snapshot_seconds, "journal" if recorded else rates.source)


