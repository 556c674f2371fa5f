"""Walking a step's operations without running them: what is pending, and its SQL.

``pending_operations`` probes a live database (for ``status`` of a dirty
database); ``render_steps`` simulates the chain on the schema model, so that
``plan`` can print every statement of every step while changing nothing.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from ..mysql.connection import Database, ServerInfo
from ..schema.expected import expected
from ..schema.introspect import introspect
from ..schema.model import Schema
from .ops import StepContext
from . import revisions as chain
from .steps import STEPS, Step



def steps_between(start: str, target: str) -> list[Step]:
    """The steps that take ``start`` to ``target`` (empty when already there), in alembic's chain order."""
    return [STEPS[r] for r in chain.between(start, target)]


def context_for(step: Step, info: ServerInfo, schema: Schema, db: Database | None = None, **options) -> StepContext:
    return StepContext(info=info, schema=schema, target=expected(step.revision, info), db=db, **options)


def next_step_progress(db: Database, declared: str, live: Schema | None = None) -> tuple[list[str], list[str]]:
    """(done, pending) operation names of the step after ``declared``.

    "Done" means: a clean database at ``declared`` would still have that work,
    this one does not. Data moves count as done only through their probe.
    """
    nxt = chain.after(declared)
    if nxt is None:
        return [], []
    step = STEPS[nxt]
    info = db.server_info()
    live_ctx = context_for(step, info, live or introspect(db), db)
    clean_ctx = context_for(step, info, expected(declared, info), None)
    done, pending = [], []
    for op in step.ops:
        if op.kind == "stamp":
            continue
        if op.pending(live_ctx):
            pending.append(op.name)
        elif op.kind == "data":
            if op.has_probe(live_ctx):  # nothing left to move, and there was something to look at
                done.append(op.name)
        elif op.pending(clean_ctx):
            done.append(op.name)
    if not done:
        return [], pending
    return done, pending


@dataclasses.dataclass
class PlannedOp:
    """One operation the upgrade would run: its SQL from the simulation, its estimate from ``api.plan``."""
    name: str
    kind: str
    tables: list[str]
    rewrites: bool
    sql: list[str]
    checks: list[tuple[str, str]]          # (what, SELECT COUNT(*)) of rows the operation would reject
    rows: int = 0                          # the main table's rows (api.plan)
    seconds: float = 0.0                   # estimated (api.plan)
    estimate_source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "tables": self.tables, "rewrites_table": self.rewrites,
                "rows": self.rows, "estimated_seconds": round(self.seconds, 3),
                "estimate_source": self.estimate_source, "sql": self.sql}


@dataclasses.dataclass
class PlannedStep:
    revision: str
    summary: str
    ops: list[PlannedOp]

    @property
    def seconds(self) -> float:
        return sum(o.seconds for o in self.ops)

    def to_json(self) -> dict[str, Any]:
        return {"revision": self.revision, "summary": self.summary, "seconds": round(self.seconds, 3),
                "operations": [o.to_json() for o in self.ops]}


def render_steps(db: Database, start: str, target: str, live: Schema | None = None, **options) -> list[PlannedStep]:
    """Every statement the upgrade would run, computed on a simulated schema.

    The first step sees the live catalog (real constraint names); later steps
    see the model of the revision before them, which is what the live schema
    becomes once a step is done. Data moves are listed as they would run.
    """
    info = db.server_info()
    schema = live or introspect(db)
    out = []
    for step in steps_between(start, target):
        # The connection is there for read-only probes (counts, AUTO_INCREMENT) only.
        ctx = context_for(step, info, schema, db, **options)
        rendered = []
        for op in step.ops:
            if op.kind == "stamp":
                rendered.append(PlannedOp(op.name, op.kind, list(op.tables), False, op.script(ctx), []))
                continue
            is_pending = _pending_simulated(op, ctx)
            if is_pending:
                rendered.append(PlannedOp(op.name, op.kind, list(op.tables), op.rewrites(ctx), op.script(ctx),
                                          op.checks(ctx)))
            op.simulate(ctx)
        out.append(PlannedStep(step.revision, step.summary, rendered))
        schema = ctx.schema
    return out


def _pending_simulated(op, ctx: StepContext) -> bool:
    """Data moves are pending when their tables are not yet in the target shape."""
    if op.kind == "data":
        try:
            return op.pending(ctx)
        except Exception:
            # The table it reads does not exist yet on the real server (created by an
            # earlier operation of this plan): it will have rows to move.
            return True
    return op.pending(ctx)
