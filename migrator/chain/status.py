"""Where a database stands: its declared revision, what its schema says, and the drift.

The declared revision comes from ``alembic_version``; the schema is compared
with every known revision (fingerprint) so that a missing or lying version
table is caught, and with the revision the upgrade would start from, so the
user sees every drift. A revision whose next step is half applied (an
interrupted run, or Harbor's own 1.5.0 failing on ``job_uuid``) is reported as
dirty, with the operations still to do.
"""
from __future__ import annotations

import dataclasses
import enum
import re
from typing import Any

from ..mysql.connection import Database
from ..errors import NotHarbor, UnknownVersion
from ..schema.diff import Drift, compare
from ..schema.expected import expected, fingerprint, harbor_tables, is_own_table
from ..schema.introspect import introspect
from ..schema.model import Schema
from . import revisions as chain
from .revisions import ORDER, RELEASES

HARBOR_MARKERS = {"user", "project", "access_log", "role"}


class State(str, enum.Enum):
    """Where the database stands as a whole; prints and serialises as its bare value ("clean", ...)."""
    CLEAN = "clean"
    DIRTY = "dirty"        # the next step ran in part
    DRIFTED = "drifted"    # at a known revision, with differences the upgrade converges
    MISMATCH = "mismatch"  # alembic_version and the schema disagree, or no revision matches

    # Python 3.10's str-mixin Enum prints "State.CLEAN"; text and JSON output
    # have always been the bare word.
    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)


@dataclasses.dataclass
class DatabaseState:
    database: str
    server: str
    declared: str | None              # alembic_version, None when absent or empty
    detected: str                     # closest revision by fingerprint
    distances: dict[str, int]
    start: str | None                 # revision an upgrade would start from
    state: State
    drift: list[Drift]
    pending: list[str]                # operations of the next step still to do (dirty state)
    leftovers: list[str]              # harbor-migrate's own temporary tables
    message: str

    @property
    def releases(self) -> str:
        return RELEASES.get(self.start or self.detected, "?")

    def to_json(self) -> dict[str, Any]:
        return {
            "database": self.database, "server": self.server, "declared_revision": self.declared,
            "detected_revision": self.detected, "revision": self.start, "harbor_releases": self.releases,
            "state": self.state.value, "message": self.message, "fingerprint_distances": self.distances,
            "drift": [{"table": d.table, "kind": d.kind, "detail": d.detail} for d in self.drift],
            "pending_operations": self.pending, "leftover_tables": self.leftovers,
        }




def read_declared(db: Database) -> str | None:
    if not db.has_table("alembic_version"):
        return None
    rows = db.query("SELECT version_num FROM alembic_version")
    return str(rows[0][0]) if rows else None


def check_is_harbor(live: Schema, db: Database) -> None:
    names = set(live.tables)
    if not names:
        raise NotHarbor(f"database {db.name!r} is empty: point --database at Harbor's database (usually 'registry')")
    if not HARBOR_MARKERS & names or len(HARBOR_MARKERS & names) < 2:
        raise NotHarbor(f"database {db.name!r} does not look like Harbor's (no user/project/access_log tables): "
                        "check --database")


def _tables_ahead(live: Schema, declared: str, nxt: str, info) -> list[str]:
    """Tables nearer the next revision's shape than the declared one's (created or changed by it)."""
    want_next, want_here = expected(nxt, info), expected(declared, info)
    ahead = []
    for name, table in live.tables.items():
        if name not in want_next.tables:
            continue
        if name not in want_here.tables:
            ahead.append(name)
            continue
        here = len(compare(Schema({name: want_here.tables[name]}), Schema({name: table})))
        there = len(compare(Schema({name: want_next.tables[name]}), Schema({name: table})))
        if here and there < here:
            ahead.append(name)
    return ahead


def locate(db: Database, live: Schema | None = None) -> DatabaseState:
    """Read the declared revision, fingerprint the schema, and decide where to start."""
    from .planner import next_step_progress  # late: steps import this module's helpers

    info = db.server_info()
    live = live or introspect(db)
    check_is_harbor(live, db)
    declared = read_declared(db)
    if declared is not None and not chain.is_known(declared):
        if chain.newer_than_head(declared):
            raise UnknownVersion(f"alembic_version is {declared}, newer than {chain.HEAD} (Harbor {chain.HEAD_RELEASE}): "
                                 "this database needs no upgrade by harbor-migrate")
        raise UnknownVersion(f"alembic_version holds an unknown revision {declared!r}: known are "
                             f"{', '.join(ORDER)}; fix alembic_version or pass --from REVISION")
    ranked = fingerprint(live, info)
    distances = dict(ranked)
    detected = ranked[0][0]
    leftovers = sorted(n for n in live.tables if is_own_table(n))
    harbor_live = harbor_tables(live)

    def drift_from(revision: str) -> list[Drift]:
        return compare(expected(revision, info), harbor_live)

    def found(start: str | None, state: State, drift: list[Drift], pending: list[str], msg: str) -> DatabaseState:
        return DatabaseState(db.settings.masked_dsn(), info.label, declared, detected, distances, start, state,
                             drift, pending, leftovers, msg)

    if declared is None:
        start = detected if distances[detected] <= 2 else None
        drift = drift_from(detected)
        state = State.CLEAN if not drift else State.DRIFTED
        msg = (f"no alembic_version row; the schema matches revision {detected}" if start else
               "no alembic_version row and the schema matches no known revision closely; pass --from REVISION")
        if start is None:
            state = State.MISMATCH
        return found(start, state, drift, [], msg)

    drift = drift_from(declared)
    nxt = chain.after(declared)
    if not drift and not leftovers:
        return found(declared, State.CLEAN, [], [], f"at revision {declared} (Harbor {RELEASES[declared]})")
    if chain.index(detected) > chain.index(declared) + 1 or chain.index(detected) < chain.index(declared):
        if distances[detected] < distances[declared]:
            return found(None, State.MISMATCH, drift, [],
                         f"alembic_version says {declared} but the schema matches {detected}: fix alembic_version "
                         f"or pass --from {detected}")
    # Operations of the next step that a clean database at ``declared`` would still
    # need but this one does not: the next step ran in part (an interrupted run, or
    # Harbor's own 1.5.0 failing on job_uuid).
    if nxt:
        done, pending = next_step_progress(db, declared, live)
        if done or leftovers or _tables_ahead(harbor_live, declared, nxt, info):
            return found(declared, State.DIRTY, drift, pending,
                         f"revision {declared} with step {nxt} partly applied ({len(done)} operation(s) done, "
                         f"{len(pending)} to do): run upgrade to finish it")
    return found(declared, State.DRIFTED, drift, [],
                 f"at revision {declared} with {len(drift)} difference(s) from a fresh "
                 f"Harbor {RELEASES[declared]} schema (upgrade converges them)")
