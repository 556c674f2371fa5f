"""The whole upgrade on a throwaway copy, with real timings, before production is touched.

From a snapshot file (or a live database, snapshotted first): start a
throwaway server (``local`` binary or ``docker`` image matching production),
restore, plan, upgrade, verify, report per-step timings and the expected
production downtime, tear down. With ``--to 1.6.0`` also a throwaway PostgreSQL: the
chain, then the move into it, both sides verified, the move's seconds per table. The
chain's timings are journaled under the *production* database's key, so ``plan`` on
production estimates from them.

The sequence itself is ``migrator.api.rehearse`` (it calls plan, upgrade and verify, which are
api verbs); this module holds what it needs below the api: the report and the server options.
"""
from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from typing import Any

from ..archive.manifest import Source
from ..chain.revisions import PG_TARGET


@dataclasses.dataclass
class RehearsalReport:
    backend: str
    server: str
    snapshot: str
    restore_seconds: float
    plan: Any
    upgrade: Any
    verify: Any
    snapshot_seconds: float
    hint: str | None

    @property
    def downtime_seconds(self) -> float:
        """Production downtime: its snapshot plus the upgrade as rehearsed."""
        return self.snapshot_seconds + (self.upgrade.result.seconds if self.upgrade.result else 0.0)

    def to_json(self) -> dict:
        return {"backend": self.backend, "server": self.server, "snapshot": self.snapshot,
                "restore_seconds": round(self.restore_seconds, 3), "snapshot_seconds": round(self.snapshot_seconds, 3),
                "plan": self.plan.to_json(), "upgrade": self.upgrade.to_json(), "verify": self.verify.to_json(),
                "expected_downtime_seconds": round(self.downtime_seconds, 3), "connect_hint": self.hint}


@dataclasses.dataclass
class MoveRehearsalReport:
    """``rehearse --to 1.6.0``: the chain on a throwaway MySQL copy, then the move into a throwaway PostgreSQL."""
    backend: str
    server: str                 # the throwaway MySQL server
    target_server: str          # the throwaway PostgreSQL server
    snapshot: str
    restore_seconds: float
    plan: Any                   # api.MovePlan
    upgrade: Any                # api.MoveOutcome (the chain's outcome and the move's result)
    verify: Any                 # the MySQL side at 1.5.0: schema, data against the snapshot
    verify_target: Any          # the PostgreSQL side: schema against a fresh 1.6.0, every row against MySQL
    snapshot_seconds: float
    hint: str | None

    @property
    def chain_seconds(self) -> float:
        result = self.upgrade.mysql.result
        return result.seconds if result else 0.0

    @property
    def move_seconds(self) -> float:
        return self.upgrade.move.seconds

    @property
    def finish_seconds(self) -> float:
        """The move's end: indexes, constraints, triggers and sequences (its total less the tables' copies)."""
        return max(0.0, self.move_seconds - sum(self.upgrade.move.table_seconds.values()))

    @property
    def downtime_seconds(self) -> float:
        """Production downtime: its snapshot, the chain and the move as rehearsed."""
        return self.snapshot_seconds + self.chain_seconds + self.move_seconds

    @property
    def ok(self) -> bool:
        return self.verify.ok and self.verify_target.ok

    def to_json(self) -> dict:
        move = self.upgrade.move
        return {"to": PG_TARGET.id, "backend": self.backend, "server": self.server, "target_server": self.target_server,
                "snapshot": self.snapshot, "restore_seconds": round(self.restore_seconds, 3),
                "snapshot_seconds": round(self.snapshot_seconds, 3), "plan": self.plan.to_json(),
                "upgrade": self.upgrade.to_json(),
                "move": {"seconds": round(move.seconds, 3), "finish_seconds": round(self.finish_seconds, 3),
                         "estimated_seconds": round(self.plan.move_seconds, 3),
                         "tables": [{"table": t, "rows": n, "seconds": round(move.table_seconds.get(t, 0.0), 3)}
                                    for t, n in move.rows.items()]},
                "verify": self.verify.to_json(), "verify_target": self.verify_target.to_json(),
                "expected_downtime_seconds": round(self.downtime_seconds, 3), "connect_hint": self.hint}


def server_options(src: Source) -> dict[str, str]:
    """Imitate production: its timestamp rules and sql_mode."""
    options = {"explicit-defaults-for-timestamp": "ON" if src.explicit_defaults_for_timestamp else "OFF"}
    if src.sql_mode is not None:
        options["sql-mode"] = src.sql_mode
    return options


def scratch_directory() -> pathlib.Path:
    """Where a rehearsal's plan keeps its throwaway journal (not the production one)."""
    return pathlib.Path(tempfile.gettempdir()) / "harbor-migrate-scratch"
