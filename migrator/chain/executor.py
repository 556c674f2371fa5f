"""Run the chain: lock, check, then per step: each pending operation, then the stamp.

The executor consumes steps and never plans: each operation is probed against
the live catalog right before it runs, so a rerun after any interruption does
exactly what is missing. The catalog is read once per run, then again for each
table an operation has run on (the lock and the pre-flight keep everyone else
out). Progress goes to a callback (stderr in the CLI) and, when given, to a
journal.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any, Callable

from ..mysql.connection import Database
from ..errors import DataConflict, Interrupted, MigratorError, StepFailed
from ..safety.guards import acquire_run_lock, release_run_lock
from .estimate import table_sizes
from ..schema.introspect import introspect
from .ops import StepContext
from . import revisions as chain
from .planner import context_for, steps_between

Progress = Callable[[str], None]


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


@dataclasses.dataclass
class StepResult:
    revision: str
    seconds: float
    ops: list[OpResult]


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
                "steps": [{"revision": s.revision, "seconds": round(s.seconds, 3),
                           "operations": [dataclasses.asdict(o) for o in s.ops]} for s in self.steps]}


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


def run_steps(db: Database, start: str, options: UpgradeOptions, progress: Progress = _noop,
              should_stop: Callable[[], bool] = lambda: False,
              journal: Callable[[dict], None] | None = None) -> UpgradeResult:
    """Apply every step from ``start`` to ``options.target``; the caller holds the lock."""
    info = db.server_info()
    result = UpgradeResult(start, options.target, [])
    if options.alter_algorithm:
        db.execute(f"SET SESSION alter_algorithm = '{options.alter_algorithm}'")
    if options.fixed_time is not None:
        db.execute(f"SET SESSION timestamp = {float(options.fixed_time)}")
    # The catalog is read once; after that only the tables an operation ran on are read again.
    schema, changed = introspect(db), set[str]()
    for step in steps_between(start, options.target):
        ctx = context_for(step, info, schema, db, with_admiral=options.with_admiral,
                          copy_chunk_rows=options.copy_chunk_rows, changed=changed)
        ctx.refresh(list(changed))
        pending = [op for op in step.ops if op.pending(ctx)]
        run_data_checks(ctx, pending)
        progress(f"step {step.revision}: {step.summary}")
        if journal:
            journal({"event": "step_start", "revision": step.revision})
        started = time.monotonic()
        step_result = StepResult(step.revision, 0.0, [])
        for op in step.ops:
            if should_stop():
                raise Interrupted(f"stopped before '{op.name}' of step {step.revision}; the database is resumable: "
                                  "rerun the same upgrade command")
            ctx.refresh(op.tables)
            if not op.pending(ctx):
                step_result.ops.append(OpResult(op.name, op.kind, 0.0, False))
                continue
            rows = 0
            if journal:
                # its main table's rows as it starts: plan scales the recorded seconds by them
                size = table_sizes(db, list(op.tables[:1])).get(op.tables[0]) if op.tables else None
                rows = size.rows if size else 0
                journal({"event": "op_start", "revision": step.revision, "op": op.name})
            t0 = time.monotonic()
            ctx.ran(op.tables)
            try:
                with StatementWatch(db, op.name, progress, options.watch_interval):
                    op.run(ctx)
            except MigratorError as exc:
                if journal:
                    journal({"event": "op_failed", "revision": step.revision, "op": op.name, "error": exc.message})
                tail = "" if "resumable" in exc.message else (" — the database is resumable: fix the cause and "
                                                              "rerun the same command")
                raise StepFailed(f"step {step.revision} failed at '{op.name}': {exc.message}{tail}",
                                 exit_code=exc.exit_code if exc.exit_code not in (1,) else None) from exc
            seconds = time.monotonic() - t0
            step_result.ops.append(OpResult(op.name, op.kind, seconds, True))
            if journal:
                journal({"event": "op_done", "revision": step.revision, "op": op.name, "seconds": round(seconds, 4),
                         "rows": rows})
            progress(f"  {op.name} ({seconds:.2f}s)")
        step_result.seconds = time.monotonic() - started
        result.steps.append(step_result)
        schema = ctx.schema
        if journal:
            journal({"event": "step_done", "revision": step.revision, "seconds": round(step_result.seconds, 4)})
        progress(f"step {step.revision} done in {step_result.seconds:.2f}s")
    return result


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
        from ..mysql.connection import connect

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
