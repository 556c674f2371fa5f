"""The verbs of the 1.6.0 target (issue 16): the MySQL chain to its head, then the move into PostgreSQL.

``upgrade_to_postgres`` reads as its phases: the target and the source checked (nothing
changed on either side when a check fails), the question, the MySQL chain to HEAD
(snapshot first, the existing ``upgrade``), the move. ``plan_move`` is the same
pre-flight plus the steps and an estimate, read-only on both sides; ``target_status``
and ``verify_move`` read the PostgreSQL side.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable

from ..chain.estimate import table_sizes
from ..chain.executor import UpgradeOptions
from ..chain.revisions import HEAD, PG_TARGET
from .. import errors
from ..errors import Aborted, ExitCode, Interrupted, UsageError
from ..move import conversions as conv
from ..move.copy import MoveResult, move_database
from ..move.estimate import estimate_move, last_recorded_move, move_event
from ..move.state import TargetState, expected_schema, locate_target
from ..mysql.connection import connect
from ..postgres.compare import compare_schemas
from ..postgres.connection import connect_pg
from ..postgres.settings import PgSettings
from ..postgres.introspect import read_schema
from ..safety.journal import Journal
from ..safety.move_checks import MoveContext, run_move_checks
from ..settings import ConnectionSettings
from ..verdicts import Check, Verdict
from ..verify.moved_rows import verify_moved_rows
from .upgrading import UpgradeOutcome, upgrade as upgrade_mysql
from .planning import PlanReport, plan as plan_chain
from .verifying import SECTIONS, VerifyReport, service_sections, skipped_sections
from ..verify.adminserver import RELEASE_160
from ..verify.harbor_rows import HarborRows

Progress = Callable[[str], None]


def target_status(target: PgSettings) -> TargetState:
    with connect_pg(target) as pg:
        pg.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        return locate_target(pg)


def _checks(settings: ConnectionSettings, target: PgSettings, force: bool) -> tuple[list[Check], TargetState]:
    """Both sides' move checks, read-only on both (the MySQL session and the PostgreSQL one)."""
    with connect_pg(target) as pg, connect(settings) as db:
        pg.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        db.execute("SET SESSION TRANSACTION READ ONLY")
        state = locate_target(pg, with_drift=False)
        checks = run_move_checks(MoveContext(db, pg, state, db.table_names()))
    if force:   # --force: the move drops Harbor's 1.6.0 tables first; what else is there it refuses itself
        checks = [dataclasses.replace(c, status=Verdict.WARN, message=f"--force: {c.message}")
                  if c.name == "target_empty" and c.status == Verdict.FAIL else c for c in checks]
    return checks, state


def raise_on_move_failures(checks: list[Check]) -> None:
    bad = [c for c in checks if c.status == Verdict.FAIL]
    if not bad:
        return
    codes = {c.exit_code for c in bad}
    code = ExitCode(codes.pop()) if len(codes) == 1 and None not in codes else ExitCode.PREFLIGHT_FAILED
    parts = [f"{c.name}: {c.message}" + (f" [{'; '.join(c.details[:3])}]" if c.details else "") for c in bad]
    raise errors.MigratorError("pre-flight of the move failed, nothing changed — " + " | ".join(parts),
                               exit_code=code)


@dataclasses.dataclass
class MovePlan:
    chain: PlanReport                   # the MySQL side up to HEAD
    target: TargetState
    checks: list[Check]                 # the move's own checks, both sides
    tables: list[tuple[str, str, int]]  # (target table, source table, rows)
    move_seconds: float
    move_estimate: str = "default rate"  # how move_seconds was found: "journal" (a recorded move) or "default rate"

    @property
    def ok(self) -> bool:
        return self.chain.ok and not any(c.status == Verdict.FAIL for c in self.checks)

    @property
    def seconds(self) -> float:
        return self.chain.downtime_seconds + self.move_seconds

    def to_json(self) -> dict:
        return {"to": PG_TARGET.id, "ok": self.ok, "mysql": self.chain.to_json(), "target": self.target.to_json(),
                "move_checks": [c.to_json() for c in self.checks],
                "move": [{"table": t, "source": s, "rows": n} for t, s, n in self.tables],
                "move_seconds": round(self.move_seconds, 3), "move_estimate": self.move_estimate,
                "expected_downtime_seconds": round(self.seconds, 3)}


def plan_move(settings: ConnectionSettings, target: PgSettings, *, force: bool = False,
              **chain_options) -> MovePlan:
    """The MySQL plan to HEAD, the move's checks on both sides, one step per table: read-only on both."""
    checks, state = _checks(settings, target, force)
    chain = plan_chain(settings, HEAD, **chain_options)
    with connect(settings) as db:
        db.execute("SET SESSION TRANSACTION READ ONLY")
        sizes = table_sizes(db)
    tables = [(m.name, m.source or "(1.6.0's own rows)",
               sizes[m.source].rows if m.source and m.source in sizes else len(m.generated_rows)) for m in conv.MOVES]
    journal = chain_options.get("journal") or Journal(settings)
    seconds, how = estimate_move([(t, n) for t, _, n in tables], last_recorded_move(journal.events()))
    return MovePlan(chain, state, checks, tables, seconds, how)


@dataclasses.dataclass
class MoveOutcome:
    mysql: UpgradeOutcome
    move: MoveResult
    target: TargetState

    def to_json(self) -> dict:
        return {"to": PG_TARGET.id, "mysql": self.mysql.to_json(),
                "move": {"rows": self.move.rows, "kept": self.move.kept, "resumed": self.move.resumed,
                         "next_ids": self.move.next_ids, "seconds": round(self.move.seconds, 3)},
                "target": self.target.to_json()}


def upgrade_to_postgres(settings: ConnectionSettings, target: PgSettings, options: UpgradeOptions | None = None, *,
                        force_target: bool = False, confirm: Callable[[str], bool] = lambda _: True,
                        progress: Progress = lambda _: None, should_stop: Callable[[], bool] = lambda: False,
                        **upgrade_options) -> MoveOutcome:
    """Check both sides, ask, bring MySQL to HEAD (snapshot first), move into ``target``.

    A rerun after any failure or interruption resumes: the MySQL side is then at HEAD
    (a no-op), and the move keeps the tables it had finished.
    """
    checks, state = _checks(settings, target, force_target)
    for c in checks:
        if c.status == Verdict.WARN:   # a failure is the error's own line
            progress(f"pre-flight {c.line()}")
    raise_on_move_failures(checks)
    if not confirm(f"{settings.masked_dsn()} to {HEAD} on MySQL, then moved into {target.masked_dsn()} as "
                   f"Harbor {PG_TARGET.releases}"):
        raise Aborted("nothing changed: the upgrade was not confirmed (pass --yes to skip the question)")
    options = dataclasses.replace(options or UpgradeOptions(), target=HEAD)
    journal = upgrade_options.pop("journal", None) or Journal(settings)
    mysql = upgrade_mysql(settings, options, confirm=lambda *_: True, progress=progress,
                          should_stop=should_stop, journal=journal, **upgrade_options)
    if should_stop():
        raise Interrupted("stopped before the move (Ctrl-C): run the same command again to continue")

    def move_progress(line: str) -> None:
        progress(line)
        if should_stop():
            raise Interrupted(f"stopped during the move into {target.masked_dsn()} (Ctrl-C); the finished tables "
                              "are kept: run the same command again to finish it")

    started = time.monotonic()
    result = move_database(settings, target, move_progress, force=force_target and state.state != "moving")
    result.seconds = time.monotonic() - started
    journal(move_event(result.table_seconds, result.rows, result.seconds))   # plan's estimate next time
    with connect_pg(target) as pg:
        after = locate_target(pg, with_drift=False)
    return MoveOutcome(mysql, result, after)


def verify_move(settings: ConnectionSettings, target: PgSettings, *, only: tuple[str, ...] = (),
                report_skipped: bool = False, **services) -> VerifyReport:
    """Schema against our 1.6.0 declaration on the same server; every row against the MySQL source;
    the 1.6.0 services (``services``: api.verify's endpoint arguments) against the target's rows.
    ``report_skipped``: a section whose endpoint is not given is listed as skipped (verify's report)."""
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        raise UsageError(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    wanted = only or SECTIONS
    with connect_pg(target) as pg:
        state = locate_target(pg, with_drift=False)
        sections: dict[str, list[Check]] = {}
        if state.state != PG_TARGET.id:
            sections["schema"] = [Check("revision", Verdict.FAIL, f"{target.masked_dsn()} is not a Harbor "
                                        f"{PG_TARGET.id} database: {state.message}", [], {}, int(ExitCode.UNKNOWN_VERSION))]
            return VerifyReport(target.masked_dsn(), sections)
        if "schema" in wanted:
            diffs = compare_schemas(expected_schema(pg), read_schema(pg))
            sections["schema"] = [
                Check("schema", Verdict.FAIL, f"{len(diffs)} difference(s) from a fresh {PG_TARGET.id}", diffs)
                if diffs else Check("schema", Verdict.OK, f"identical to a fresh {PG_TARGET.id} (tables, columns "
                                    "in order, types, defaults, constraints, indexes, sequences, triggers)")]
        if "data" in wanted:
            sections["data"] = [verify_moved_rows(settings, pg)]
        service_sections(sections, wanted, only, HarborRows.postgres_target(pg), target, release=RELEASE_160,
                         **services)
    if report_skipped:
        skipped_sections(sections, wanted)
    return VerifyReport(target.masked_dsn(), sections)
