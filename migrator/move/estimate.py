"""How long the move will take: from the last move recorded for this database, else a guess.

The journal of a database records each move (``move_done``: every table this run copied,
with its seconds and rows, and the time of the finish: indexes, constraints, triggers,
sequences). ``rehearse --to 1.6.0`` writes it under the production database's key, so the
plan after a rehearsal quotes what the rehearsal measured, scaled by today's row counts,
as the chain's estimates do. Without a recorded move the estimate is a fixed rate, and
the plan says so.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Iterable

# Seconds per row when nothing is recorded: a deliberately slow guess (the copy is COPY-bound;
# docs/benchmarks.md has the measured figures), so a plan without a rehearsal errs long.
DEFAULT_ROW_SECONDS = 2e-5
MOVE_DONE = "move_done"


@dataclasses.dataclass(frozen=True)
class RecordedMove:
    tables: dict[str, tuple[float, int]]   # target table -> (seconds, rows) of its copy
    finish_seconds: float
    rows: int                              # rows the recorded move held in all


def move_event(table_seconds: dict[str, float], rows: dict[str, int], seconds: float) -> dict[str, Any]:
    """The journal record of a finished move (only the tables this run copied have timings)."""
    return {"event": MOVE_DONE, "seconds": round(seconds, 4),
            "finish_seconds": round(max(0.0, seconds - sum(table_seconds.values())), 4),
            "rows": sum(rows.values()),
            "tables": {t: [round(s, 4), rows.get(t, 0)] for t, s in table_seconds.items()}}


def last_recorded_move(events: Iterable[dict[str, Any]]) -> RecordedMove | None:
    """The timings of each table from the latest move that copied it, and the latest finish."""
    tables: dict[str, tuple[float, int]] = {}
    latest: dict[str, Any] | None = None
    for e in events:
        if e.get("event") != MOVE_DONE:
            continue
        try:
            tables.update({str(t): (float(s), int(n)) for t, (s, n) in dict(e.get("tables") or {}).items()})
            latest = e
        except (TypeError, ValueError):
            continue   # a record of another shape: ignored, as the journal's cut lines are
    if latest is None:
        return None
    return RecordedMove(tables, float(latest.get("finish_seconds") or 0.0), int(latest.get("rows") or 0))


def estimate_move(tables: list[tuple[str, int]], recorded: RecordedMove | None) -> tuple[float, str]:
    """(seconds, how) for moving ``tables`` ((target table, rows now)): each recorded table's
    time scaled by its rows, the finish by all rows; the default rate for the rest."""
    if recorded is None:
        return sum(n for _, n in tables) * DEFAULT_ROW_SECONDS, "default rate"
    seconds = 0.0
    for table, rows in tables:
        if table in recorded.tables:
            then_seconds, then_rows = recorded.tables[table]
            seconds += then_seconds * rows / then_rows if then_rows else then_seconds
        else:
            seconds += rows * DEFAULT_ROW_SECONDS
    total = sum(n for _, n in tables)
    seconds += recorded.finish_seconds * total / recorded.rows if recorded.rows else recorded.finish_seconds
    return seconds, "journal"
