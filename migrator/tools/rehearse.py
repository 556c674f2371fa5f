"""The whole upgrade on a throwaway copy, with real timings, before production is touched.

From a snapshot file (or a live database, snapshotted first): start a
throwaway server (``local`` binary or ``docker`` image matching production),
restore, plan, upgrade, verify, report per-step timings and the expected
production downtime, tear down. The timings are journaled under the
*production* database's key, so ``plan`` on production estimates from them.

The sequence itself is ``migrator.api.rehearse`` (it calls plan, upgrade and verify, which are
api verbs); this module holds what it needs below the api: the report and the server options.
"""
from __future__ import annotations

import dataclasses
import pathlib
import tempfile
from typing import Any

from ..archive.manifest import Source


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


def server_options(src: Source) -> dict[str, str]:
    """Imitate production: its timestamp rules and sql_mode."""
    options = {"explicit-defaults-for-timestamp": "ON" if src.explicit_defaults_for_timestamp else "OFF"}
    if src.sql_mode is not None:
        options["sql-mode"] = src.sql_mode
    return options


def scratch_directory() -> pathlib.Path:
    """Where a rehearsal's plan keeps its throwaway journal (not the production one)."""
    return pathlib.Path(tempfile.gettempdir()) / "harbor-migrate-scratch"
