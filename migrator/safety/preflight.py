"""Pre-flight: named checks, each ok / warn / fail with the fix in its message.

Run by ``plan`` (read-only) and again at the start of ``upgrade``, which stops
on a fail unless that check is overridden by name (``--skip-check NAME``).
Every check only reads: the catalog, server variables, grants, the process
list and counts. The checks live in ``server_checks`` and ``data_checks``; this
module runs them in the registry's order and maps failures to one error.
"""
from __future__ import annotations

from ..chain.revisions import HEAD
from ..chain.status import DatabaseState
from .. import errors
from ..errors import ExitCode, UsageError
from ..mysql.connection import Database
from ..schema.model import Schema
from ..verdicts import Check, Verdict
from . import data_checks, server_checks  # noqa: F401  (importing them registers their checks)
from .context import REGISTRY as CHECKS, PreflightContext

# Checks that are always ok: they only inform (plan lists them; upgrade, which prints only
# what is not ok, does not run them).
REPORT_ONLY = ("zero_dates",)


def run_preflight(db: Database, st: DatabaseState | None, live: Schema, *, target: str = HEAD,
                  snapshot_dir: str | None = ".", harbor_user: str | None = None, skip: tuple[str, ...] = (),
                  report: bool = True) -> list[Check]:
    """Every check in order, for an upgrade to ``target``; ``report=False`` (upgrade) skips
    what can only inform, no hazard."""
    unknown = [s for s in skip if s not in CHECKS]
    if unknown:
        raise UsageError(f"unknown check(s) {', '.join(unknown)}: known are {', '.join(CHECKS)}")
    ctx = PreflightContext(db, st, live, target=target, snapshot_dir=snapshot_dir, harbor_user=harbor_user,
                           report=report)
    results = []
    for name, fn in CHECKS.items():
        if not report and name in REPORT_ONLY:
            continue
        check = fn(ctx)
        if name in skip and check.status == Verdict.FAIL:
            check = Check(check.name, Verdict.WARN, f"overridden (--skip-check {name}): {check.message}",
                          check.details, check.data)
        results.append(check)
    return results


def failing(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == Verdict.FAIL]


def raise_on_failures(checks: list[Check]) -> None:
    """One error for all failing checks; its exit code is the checks' own when they agree."""
    bad = failing(checks)
    if not bad:
        return
    codes = {c.exit_code for c in bad}
    code = ExitCode(codes.pop()) if len(codes) == 1 and None not in codes else ExitCode.PREFLIGHT_FAILED
    parts = []
    for c in bad:
        parts.append(f"{c.name}: {c.message}" + (f" [{'; '.join(c.details[:3])}]" if c.details else ""))
    names = " ".join(f"--skip-check {c.name}" for c in bad)
    cls = {ExitCode.DATA_CONFLICT: errors.DataConflict, ExitCode.PRIVILEGES: errors.MissingPrivileges,
           ExitCode.CLIENTS_CONNECTED: errors.ClientsConnected, ExitCode.UNKNOWN_VERSION: errors.UnknownVersion,
           ExitCode.NO_SPACE: errors.NoSpace}.get(code, errors.PreflightFailed)
    raise cls("pre-flight failed — " + " | ".join(parts) + f" (override with {names})")
