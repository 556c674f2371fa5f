"""The one loop that runs a revision: check, then each pending operation, watched and journaled.

Alembic's own runtime walks the chain and stamps ``alembic_version`` after each revision
(``chain/alembic_entry.py``), for ``harbor-migrate upgrade`` as for ``alembic upgrade``;
each revision script hands its revision to ``ChainRun.run_step``. The loop consumes steps
and never plans: each operation is probed against the live catalog right before it runs,
so a rerun after any interruption does exactly what is missing. The catalog is read once
per run, then again for each table an operation has run on (the lock and the pre-flight
keep everyone else out). Progress goes to a callback (stderr in the CLI) and, when given,
to a journal.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable

from ..errors import DataConflict, Interrupted, MigratorError, StepFailed
from ..mysql.connection import Database, connect
from ..safety.guards import acquire_run_lock, release_run_lock
from ..schema.introspect import introspect
from . import revisions as chain
from .estimate import table_sizes
from .ops import StepContext
from .planner import context_for
from .steps import STEPS

Progress = Callable[[str], None]
Journal = Callable[[dict], None]


@dataclasses.dataclass
class UpgradeOptions:
    target: str = chain.HEAD
    with_admiral: bool = False
    copy_chunk_rows: int = 0
    alter_algorithm: str | None = None   # MariaDB: 'COPY' imitates MySQL 5.6/5.7 table copies
    fixed_time: float | None = None      # SET SESSION timestamp: reproducible new-row times (rehearsals, tests)
    watch_interval: float = 30.0         # seconds between "still running" lines during a long statement


@dataclasses.dataclass
class OpResult:
    name: str
    kind: str
    seconds: float
    ran: bool

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "seconds": self.seconds, "ran": self.ran}


@dataclasses.dataclass
class StepResult:
    revision: str
    seconds: float
    ops: list[OpResult]

    def to_json(self) -> dict[str, Any]:
        return {"revision": self.revision, "seconds": round(self.seconds, 3),
                "operations": [o.to_json() for o in self.ops]}


@dataclasses.dataclass
class UpgradeResult:
    start: str
    target: str
    steps: list[StepResult]

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "target": self.target, "seconds": round(self.seconds, 3),
                "steps": [s.to_json() for s in self.steps]}


def _noop(_: str) -> None:
    pass


def run_data_checks(ctx: StepContext, ops) -> None:
    """Stop before a step changes anything when its rows would break a new constraint."""
    problems = []
    for op in ops:
        for what, sql in op.checks(ctx):
            n = ctx.count(sql)
            if n:
                problems.append(f"{what} ({n} row(s))")
    if problems:
        raise DataConflict("data would break the upgrade: " + "; ".join(problems) +
                           " — fix those rows (see docs/what-if.md), then rerun")


class ChainRun:
    """What the revision scripts run through: one per upgrade, handed to alembic's runtime.

    ``run_step`` runs a revision's operations (not its stamp: alembic stamps after the
    script returns, and ``stamped`` records that as the step's last operation, so the
    progress lines, results and journal read as they always did).
    """

    def __init__(self, db: Database, options: UpgradeOptions, start: str, progress: Progress = _noop,
                 should_stop: Callable[[], bool] = lambda: False, journal: Journal | None = None):
        self.db, self.options, self.progress, self.should_stop, self.journal = db, options, progress, should_stop, journal
        self.result = UpgradeResult(start, options.target, [])
        self._info = db.server_info()
        self._schema = None
        self._changed: set[str] = set()
        self._step: StepResult | None = None
        self._step_started = self._last_op_end = 0.0

    def prepare_session(self) -> None:
        if self.options.alter_algorithm:
            self.db.execute(f"SET SESSION alter_algorithm = '{self.options.alter_algorithm}'")
        if self.options.fixed_time is not None:
            self.db.execute(f"SET SESSION timestamp = {float(self.options.fixed_time)}")

    def _event(self, **event: Any) -> None:
        if self.journal:
            self.journal(event)

    def run_step(self, revision: str) -> None:
        step = STEPS[revision]
        if self._schema is None:  # the catalog is read once; then only tables an operation ran on
            self._schema = introspect(self.db)
        ctx = context_for(step, self._info, self._schema, self.db, with_admiral=self.options.with_admiral,
                          copy_chunk_rows=self.options.copy_chunk_rows, changed=self._changed)
        ctx.refresh(list(self._changed))
        ops = [op for op in step.ops if op.kind != "stamp"]
        run_data_checks(ctx, [op for op in ops if op.pending(ctx)])
        self.progress(f"step {revision}: {step.summary}")
        self._event(event="step_start", revision=revision)
        self._step_started = time.monotonic()
        self._step = StepResult(revision, 0.0, [])
        for op in ops:
            self._run_op(ctx, revision, op)
        self._schema = ctx.schema
        self._last_op_end = time.monotonic()

    def _run_op(self, ctx: StepContext, revision: str, op) -> None:
        assert self._step is not None
        if self.should_stop():
            raise Interrupted(f"stopped before '{op.name}' of step {revision}; the database is resumable: "
                              "rerun the same upgrade command")
        ctx.refresh(op.tables)
        if not op.pending(ctx):
            self._step.ops.append(OpResult(op.name, op.kind, 0.0, False))
            return
        rows = 0
        if self.journal:
            # its main table's rows as it starts: plan scales the recorded seconds by them
            size = table_sizes(self.db, list(op.tables[:1])).get(op.tables[0]) if op.tables else None
            rows = size.rows if size else 0
            self._event(event="op_start", revision=revision, op=op.name)
        t0 = time.monotonic()
        ctx.ran(op.tables)
        try:
            with StatementWatch(self.db, op.name, self.progress, self.options.watch_interval):
                op.run(ctx)
        except MigratorError as exc:
            self._event(event="op_failed", revision=revision, op=op.name, error=exc.message)
            tail = "" if "resumable" in exc.message else (" — the database is resumable: fix the cause and "
                                                          "rerun the same command")
            raise StepFailed(f"step {revision} failed at '{op.name}': {exc.message}{tail}",
                             exit_code=exc.exit_code if exc.exit_code not in (1,) else None) from exc
        self._done(revision, op.name, op.kind, time.monotonic() - t0, rows)

    def _done(self, revision: str, name: str, kind: str, seconds: float, rows: int) -> None:
        assert self._step is not None
        self._step.ops.append(OpResult(name, kind, seconds, True))
        self._event(event="op_done", revision=revision, op=name, seconds=round(seconds, 4), rows=rows)
        self.progress(f"  {name} ({seconds:.2f}s)")

    def stamped(self, revision: str) -> None:
        """Alembic has stamped ``revision``: the step is done."""
        step = self._step
        if step is None or step.revision != revision:
            return  # a stamp outside a step of ours (alembic's base row)
        name = f"alembic_version: stamp {revision}"
        self._event(event="op_start", revision=revision, op=name)
        self._done(revision, name, "stamp", time.monotonic() - self._last_op_end, 1)
        step.seconds = time.monotonic() - self._step_started
        self.result.steps.append(step)
        self._step = None
        self._event(event="step_done", revision=revision, seconds=round(step.seconds, 4))
        self.progress(f"step {revision} done in {step.seconds:.2f}s")


class StatementWatch:
    """While an operation runs, say every ``interval`` seconds what the server is doing
    with it — "copy to tmp table", "Waiting for table metadata lock" — so that a
    long copy and a blocked ALTER never look alike at 2 a.m. Uses its own connection."""

    def __init__(self, db: Database, what: str, progress: Progress, interval: float):
        self.db, self.what, self.progress, self.interval = db, what, progress, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "StatementWatch":
        if self.progress is not _noop and self.interval > 0:
            self._id = self.db.connection_id
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        watcher = None
        try:
            while not self._stop.wait(self.interval):
                if watcher is None:
                    watcher = connect(self.db.settings)
                rows = watcher.query("SELECT COMMAND, TIME, STATE, LEFT(INFO, 70) FROM information_schema.PROCESSLIST "
                                     "WHERE ID = %s", (self._id,))
                if rows and not self._stop.is_set():
                    command, seconds, state, info = rows[0]
                    doing = (state or command or "").strip() or "running"
                    self.progress(f"  … {self.what}: {doing} for {seconds}s"
                                  + (f" ({' '.join(str(info).split())})" if info else ""))
        except MigratorError:
            pass  # a watcher that cannot connect must not disturb the upgrade
        finally:
            if watcher is not None:
                watcher.close()


def locked_run(db: Database, body: Callable[[], Any]) -> Any:
    acquire_run_lock(db)
    try:
        return body()
    finally:
        release_run_lock(db)
