"""Pre-flight checks of the database's revision and rows: what the steps up to the target
would trip over (rows breaking a new constraint), and what they handle specially.

access_log has millions of rows, so its counts dive into an index instead of reading all of it.
"""
from __future__ import annotations

import contextlib

from ..chain.status import State
from ..errors import ExitCode, MigratorError
from ..mysql.connection import quote_ident as q
from ..schema.model import Table
from ..verdicts import Check
from .context import PreflightContext, Section, check, fail, ok, warn

ZERO = "0000-00-00 00:00:00"


def _leads(table: Table, *columns: str) -> bool:
    """Whether an index of ``table`` starts with ``columns``, all of them NOT NULL (a DISTINCT of the
    first one then reads one index entry per value, and no NULL is lost to a join on it)."""
    not_null = all(c is not None and not c.nullable for c in map(table.column, columns))
    return not_null and any(i.columns[:len(columns)] == columns for i in table.indexes)


# A DISTINCT of the index's first column is a loose index scan (one dive per project or user),
# then one range per value: far cheaper than the plain COUNT(*), which reads the whole index
# (figures in docs/benchmarks.md, "What would make the upgrade faster"). Without such an index,
# the plain form.
def _zero_op_time_sql(log: Table) -> str:
    if _leads(log, "project_id", "op_time"):
        return ("SELECT COUNT(*) FROM (SELECT DISTINCT project_id FROM access_log) p "
                f"JOIN access_log a ON a.project_id = p.project_id AND a.op_time = '{ZERO}'")
    return f"SELECT COUNT(*) FROM access_log WHERE op_time = '{ZERO}'"


def _orphans_sql(log: Table) -> str:
    if _leads(log, "user_id"):
        return ("SELECT COUNT(*) FROM access_log a JOIN (SELECT d.user_id FROM (SELECT DISTINCT user_id "
                "FROM access_log) d LEFT JOIN user u ON u.user_id = d.user_id WHERE u.user_id IS NULL) o "
                "ON a.user_id = o.user_id")
    return ("SELECT COUNT(*) FROM access_log a LEFT JOIN user u ON u.user_id = a.user_id "
            "WHERE u.user_id IS NULL")


def _log_zero_dates(ctx: PreflightContext) -> int:
    """Rows of access_log with a zero op_time."""
    log = ctx.live.table("access_log")
    if log is None or log.column("op_time") is None:
        return 0
    return int(ctx.db.scalar(_zero_op_time_sql(log)) or 0)


def _log_orphans(ctx: PreflightContext) -> int:
    """Rows of access_log naming a user that no longer exists."""
    log = ctx.live.table("access_log")
    if log is None or log.column("user_id") is None or ctx.live.table("user") is None:
        return 0
    return int(ctx.db.scalar(_orphans_sql(log)) or 0)


def zero_date_columns(ctx: PreflightContext) -> list[str]:
    """Columns holding zero dates (counted once per run: sql_mode and zero_dates both ask)."""
    def scan() -> list[str]:
        found = []
        for table in ctx.live.tables.values():
            for c in table.columns:
                if c.type in ("timestamp", "datetime"):
                    if (table.name, c.name) == ("access_log", "op_time"):
                        n = _log_zero_dates(ctx)
                    else:
                        n = ctx.db.scalar(f"SELECT COUNT(*) FROM {q(table.name)} WHERE {q(c.name)} = '{ZERO}'")
                    if n:
                        found.append(f"{table.name}.{c.name}: {n} zero date(s)")
        return found

    return ctx.once("zero_dates", scan)


def _count(ctx: PreflightContext, sql: str) -> int:
    try:
        return int(ctx.db.scalar(sql) or 0)
    except MigratorError:
        return 0


def _constraint_problems(ctx: PreflightContext) -> list[str]:
    """Rows that a step up to the target would reject (the steps past it do not run, so their
    constraints do not count)."""
    st = ctx.state
    if st is None or st.start is None:
        return []
    from ..chain.planner import render_steps

    problems = []
    with contextlib.suppress(MigratorError):
        for step in render_steps(ctx.db, st.start, ctx.target, ctx.live):
            for op in step.ops:
                for what, sql in op.checks:
                    try:
                        n = int(ctx.db.scalar(sql) or 0)
                    except MigratorError:
                        continue  # the column does not exist yet on this server
                    if n:
                        problems.append(f"step {step.revision}: {what} ({n} row(s))")
    return problems


@check("revision", Section.DATABASE)
def check_revision(ctx: PreflightContext) -> Check:
    st = ctx.state
    if st is None:
        return fail("the revision could not be determined", exit_code=ExitCode.UNKNOWN_VERSION)
    if st.state is State.MISMATCH or st.start is None:
        return fail(st.message, exit_code=ExitCode.UNKNOWN_VERSION)
    if st.state is State.DIRTY:
        return warn(st.message, st.pending)
    if st.state is State.DRIFTED:
        return warn(st.message, [str(d) for d in st.drift])
    return ok(st.message)


@check("data", Section.DATABASE)
def check_data(ctx: PreflightContext) -> Check:
    """Without ``ctx.report`` (upgrade): leave out what only informs (never a warning or a failure)."""
    details, handled = [], False
    live = ctx.live
    if live.table("replication_policy") and live.table("project"):
        n = _count(ctx, "SELECT COUNT(*) FROM replication_policy rp LEFT JOIN project p ON p.project_id = "
                        "rp.project_id WHERE p.project_id IS NULL")
        if n:
            handled = True
            details.append(f"{n} replication polic(ies) point at a missing project: Harbor's 1.4.0 crashes on them; "
                           "harbor-migrate gives them no immediate trigger, and Harbor 1.5.2's policy list fails "
                           "on them: delete them (or mark them deleted) before or after the upgrade")
    if ctx.report:
        n = _log_orphans(ctx)
        if n:
            details.append(f"{n} access_log row(s) of users that no longer exist: they keep username '' (as in Harbor)")
    problems = _constraint_problems(ctx)
    if problems:
        return fail("rows would break a new constraint: fix them first (docs/what-if.md)", problems + details,
                    exit_code=ExitCode.DATA_CONFLICT)
    if handled:
        return warn("data the upgrade handles specially", details)
    return ok("no rows break a new constraint; nothing is lost" + (f" ({'; '.join(details)})" if details else ""))


@check("zero_dates", Section.DATABASE)
def check_zero_dates(ctx: PreflightContext) -> Check:
    zeros = zero_date_columns(ctx)
    if zeros:
        return ok(f"zero timestamps in {len(zeros)} column(s): kept as they are (our session allows them)",
                  columns=zeros)
    return ok("no zero timestamps")
