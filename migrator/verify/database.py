"""Verify the database itself: its schema, and its data against the pre-upgrade snapshot.

Data is compared through *projections* (``migrator.schema.projections``): the snapshot's
manifest holds their hashes per key, recomputed here live, and every key that differs
is listed. The tables that grow (the audit log, the replication jobs) are compared row
by row with the snapshot's dump instead (``dumped_rows``), which keeps their cost out of
the snapshot. Without a snapshot, the invariants that need none are checked.
"""
from __future__ import annotations

import pathlib

from ..archive.manifest import Fingerprint, Manifest
from ..chain import revisions as chain
from ..chain.revisions import HEAD
from ..errors import ExitCode, MigratorError
from ..mysql.connection import Database
from ..schema.diff import compare
from ..schema.expected import expected, harbor_tables, is_own_table
from ..schema.introspect import introspect
from ..schema.projections import entity_fingerprints
from ..verdicts import Check, Verdict
from .changes import change_lines, key_changes
from .dumped_rows import TABLES as _DUMPED, compare_dumped_tables
from .harbor_writes import HarborWrites, Sorted

ROW_BY_ROW = {spec.name for spec in _DUMPED}
_NOTHING = Fingerprint(0, "", {})


def _diff_entity(name: str, before: Fingerprint, now: Fingerprint,
                 writes: HarborWrites | None = None) -> tuple[list[str], Sorted]:
    """(the differences left, as lines; what Harbor 1.5.2 wrote itself, per ``writes``)."""
    if before.sha256 == now.sha256 and before.rows == now.rows:
        return [], Sorted({})
    old, new = before.keys, now.keys
    changes = key_changes(old, new)
    own = writes.sort(name, changes) if writes is not None else Sorted(changes)
    out = change_lines(name, own.rest)
    if out or own.notes:
        return out, own
    return [f"{name}: {before.rows} rows before, {now.rows} now"], own


def verify_schema(db: Database, revision: str = HEAD) -> Check:
    live = introspect(db)
    drift = compare(expected(revision, db.server_info()), harbor_tables(live))
    leftovers = [n for n in live.tables if is_own_table(n)]
    details = [str(d) for d in drift] + [f"{n}: harbor-migrate's temporary table left (rerun upgrade)" for n in leftovers]
    if details:
        return Check("schema", Verdict.FAIL, f"{len(details)} difference(s) from a fresh Harbor 1.5.2 schema",
                     details, exit_code=int(ExitCode.VERIFY_FAILED))
    return Check("schema", Verdict.OK, "identical to a fresh Harbor 1.5.2 schema on this server (tables, columns in "
                                      "order, types, defaults, indexes, foreign keys)")


def verify_data(db: Database, manifest: Manifest | None, revision: str = HEAD,
                with_admiral: bool = False, dump: pathlib.Path | None = None) -> list[Check]:
    """Data against the manifest's projections and the big tables against the snapshot's
    rows (or invariants only, without a snapshot)."""
    checks = [verify_invariants(db, revision)]
    if manifest is None:
        checks.append(Check("data", Verdict.WARN, "no snapshot manifest given (--snapshot): only the invariants that "
                                                 "need none were checked"))
        return checks
    if manifest.source.database != db.name:
        checks.append(Check("data", Verdict.FAIL, f"the snapshot is of database {manifest.source.database!r}, this is "
                                                 f"{db.name!r}: pass the snapshot taken before this upgrade",
                            exit_code=int(ExitCode.SNAPSHOT_INVALID)))
        return checks
    before = manifest.entities
    if not before:
        checks.append(Check("data", Verdict.FAIL, "the snapshot manifest has no projections (taken at an unknown "
                                                 "revision?): take the snapshot with harbor-migrate before upgrading",
                            exit_code=int(ExitCode.SNAPSHOT_INVALID)))
        return checks
    if not chain.is_known(manifest.revision) or not chain.at_least(revision, manifest.revision):
        checks.append(Check("data", Verdict.FAIL, f"the snapshot is at revision {manifest.revision}, newer "
                                                 f"than this database ({revision})",
                            exit_code=int(ExitCode.SNAPSHOT_INVALID)))
        return checks
    now = {name: Fingerprint.from_json(f)
           for name, f in entity_fingerprints(db, revision, with_admiral, since=manifest.revision).items()}
    writes = HarborWrites(db, manifest, dump)
    for name, was in before.items():
        if name in ROW_BY_ROW:  # a manifest from before these were compared row by row (below)
            continue
        problems, own = _diff_entity(name, was, now.get(name, _NOTHING), writes)
        label = f"data.{name}"
        rows = f"{was.rows} rows before, {now.get(name, _NOTHING).rows} now"
        if problems:
            checks.append(Check(label, Verdict.FAIL, f"differs from the snapshot ({rows})", problems + own.notes,
                                exit_code=int(ExitCode.VERIFY_FAILED)))
        elif own.notes:
            checks.append(Check(label, own.status, f"{rows}: only what Harbor 1.5.2 writes itself when it starts",
                                own.notes))
        else:
            checks.append(Check(label, Verdict.OK, f"{was.rows} rows, as before the upgrade"))
    if dump is not None:
        checks += compare_dumped_tables(db, manifest, dump)
    return checks


def _count(db: Database, sql: str) -> int:
    try:
        return int(db.scalar(sql) or 0)
    except MigratorError:
        return -1


def verify_invariants(db: Database, revision: str = HEAD) -> Check:
    """Rules a migrated 1.5.x database must satisfy, no snapshot needed."""
    rules = {
        f"alembic_version holds exactly '{HEAD}'": f"SELECT COUNT(*) <> 1 OR MAX(version_num) <> '{HEAD}' FROM alembic_version",
        "every project has one 'public' metadata row": (
            "SELECT COUNT(*) FROM project p WHERE (SELECT COUNT(*) FROM project_metadata m WHERE "
            "m.project_id = p.project_id AND m.name = 'public') <> 1"),
        "'public' values are 'true' or 'false'": (
            "SELECT COUNT(*) FROM project_metadata WHERE name = 'public' AND value NOT IN ('true', 'false')"),
        "members are users ('u') or groups ('g')": "SELECT COUNT(*) FROM project_member WHERE entity_type NOT IN ('u', 'g')",
        "user members reference existing users": (
            "SELECT COUNT(*) FROM project_member m LEFT JOIN user u ON u.user_id = m.entity_id "
            "WHERE m.entity_type = 'u' AND u.user_id IS NULL"),
        "members reference existing projects": (
            "SELECT COUNT(*) FROM project_member m LEFT JOIN project p ON p.project_id = m.project_id "
            "WHERE p.project_id IS NULL"),
        "member roles exist": "SELECT COUNT(*) FROM project_member m LEFT JOIN role r ON r.role_id = m.role "
                              "WHERE r.role_id IS NULL",
        "every policy has its trigger kind in cron_str": (
            "SELECT COUNT(*) FROM replication_policy WHERE cron_str IS NULL OR cron_str NOT LIKE '{\"kind\":%'"),
        "immediate triggers reference existing policies": (
            "SELECT COUNT(*) FROM replication_immediate_trigger t LEFT JOIN replication_policy p ON p.id = t.policy_id "
            "WHERE p.id IS NULL"),
        "repositories reference existing projects": (
            "SELECT COUNT(*) FROM repository r LEFT JOIN project p ON p.project_id = r.project_id "
            "WHERE p.project_id IS NULL"),
        "the admin user (id 1) exists": "SELECT COUNT(*) = 0 FROM user WHERE user_id = 1",
    }
    failures = []
    for what, sql in rules.items():
        n = _count(db, sql)
        if n:
            failures.append(f"{what}: {'cannot be checked (table missing)' if n < 0 else f'{n} violation(s)'}")
    if failures:
        return Check("invariants", Verdict.FAIL, f"{len(failures)} of {len(rules)} invariants violated", failures,
                     exit_code=int(ExitCode.VERIFY_FAILED))
    return Check("invariants", Verdict.OK, f"all {len(rules)} invariants of a 1.5.x database hold")
