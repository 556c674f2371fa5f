"""Run the chain from a start revision to a target: alembic's runtime walks it, our loop runs each revision.

``ChainRun`` (chain/runtime.py) is the loop; ``alembic_entry`` puts it where the revision
scripts find it. The caller (api.upgrade) holds the run lock and has run the pre-flight.
"""
from __future__ import annotations

from typing import Callable

from ..mysql.connection import Database
from . import revisions as chain
from .alembic_entry import upgrade_through_alembic
from .runtime import (ChainRun, Journal, OpResult, Progress, StepResult, UpgradeOptions,  # noqa: F401  (the API's names)
                      UpgradeResult, _noop, locked_run)


def run_chain(db: Database, start: str, options: UpgradeOptions, progress: Progress = _noop,
              should_stop: Callable[[], bool] = lambda: False, journal: Journal | None = None) -> UpgradeResult:
    """Apply every revision from ``start`` to ``options.target`` through alembic; the caller holds the lock."""
    run = ChainRun(db, options, start, progress, should_stop, journal)
    run.prepare_session()
    if chain.index(options.target) > chain.index(start):
        upgrade_through_alembic(db, start, options.target, run)
    return run.result


