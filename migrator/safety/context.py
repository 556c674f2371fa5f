"""What every pre-flight check receives, and how a check is declared.

A check is a function of one ``PreflightContext`` returning a verdict; ``@check(NAME,
SECTION)`` names it and adds it to ``REGISTRY``, which is the list ``run_preflight`` runs.
The verdict helpers leave the name out: the decorator fills it in, so a check's name is
written once.
"""
from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Any, Callable

from ..chain.revisions import HEAD
from ..chain.status import DatabaseState
from ..errors import ExitCode
from ..mysql.connection import Database
from ..schema.model import Schema
from ..verdicts import Check, Verdict


@dataclasses.dataclass
class PreflightContext:
    """One pre-flight run: the session, what ``status`` found, and the run's options."""
    db: Database
    state: DatabaseState | None         # what `status` found (None: not read)
    live: Schema
    target: str = HEAD                  # the steps up to it are the ones whose constraints count
    snapshot_dir: str | None = "."      # None: --no-snapshot
    harbor_user: str | None = None      # Harbor 1.5.2's account (user@host), when given
    report: bool = True                 # False (upgrade): leave out what can only inform
    # Scans two checks share (sql_mode and zero_dates both list the zero dates): done once per run.
    memo: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def once(self, key: str, compute: Callable[[], Any]) -> Any:
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]


class Section(enum.IntEnum):
    """Where a check runs: the server first, then the database, then what the run and Harbor
    after it need (space for the snapshot, Harbor's own account)."""
    SERVER = 1
    DATABASE = 2
    RUN = 3


CheckFn = Callable[[PreflightContext], Check]
_REGISTERED: list[tuple[Section, str, CheckFn]] = []
REGISTRY: dict[str, CheckFn] = {}


def check(name: str, section: Section) -> Callable[[CheckFn], CheckFn]:
    """Register a check under ``name``; within a section, checks run in the order they are defined."""
    def register(fn: CheckFn) -> CheckFn:
        @functools.wraps(fn)
        def named(ctx: PreflightContext) -> Check:
            return dataclasses.replace(fn(ctx), name=name)

        _REGISTERED.append((section, name, named))
        # sorted() is stable: the definition order stays within each section
        REGISTRY.clear()
        REGISTRY.update((n, f) for _, n, f in sorted(_REGISTERED, key=lambda r: r[0]))
        return named
    return register


def ok(message: str, **data) -> Check:
    return Check("", Verdict.OK, message, data=data)


def warn(message: str, details=None, **data) -> Check:
    return Check("", Verdict.WARN, message, details or [], data)


def fail(message: str, details=None, exit_code: ExitCode = ExitCode.PREFLIGHT_FAILED, **data) -> Check:
    return Check("", Verdict.FAIL, message, details or [], data, int(exit_code))
