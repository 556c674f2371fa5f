"""Each Harbor revision as an ordered list of operations.

Order inside a revision matters only where data moves: the access_log copy
reads ``user_id`` before it goes, project_metadata is filled before
``project.public`` is dropped, triggers are made while ``enabled`` still says
which policies were on. Every other table is converged to the revision's model
(usually a no-op), which also repairs drift from older histories.
See docs/decisions.md for where we deliberately differ from Harbor's scripts.
"""
from __future__ import annotations

import dataclasses

from ..schema.revisions import MODELS
from .ops import Converge, DataMove, Op, RebuildAccessLog, Stamp, StepContext
from .steps_early import step_0_1_1, step_0_3_0, step_0_4_0

def _unmigrated(alias: str = "") -> str:
    """Policies whose trigger kind is not yet in cron_str (what 1.4.0 still has to move)."""
    return f"""(NOT ({alias}cron_str LIKE '{{"kind":%') OR {alias}cron_str IS NULL OR {alias}enabled = 0)"""


@dataclasses.dataclass(frozen=True)
class Step:
    revision: str
    summary: str
    ops: tuple[Op, ...]


def _finish(revision: str, ops: list[Op]) -> tuple[Op, ...]:
    """A revision's operations: ``ops``, then every other table of its model converged (usually
    a no-op; it repairs drift), then the stamp. A table is handled when an operation of ``ops``
    that changes schema (not a data move) is about it."""
    handled = {o.tables[0] for o in ops if o.kind != "data"}
    rest = [Converge(t.name) for t in MODELS[revision].tables if t.name not in handled]
    return tuple(ops + rest + [Stamp(revision)])


# -- 1.2.0 -----------------------------------------------------------------------
def _step_1_2_0() -> Step:
    ops: list[Op] = [
        Converge("user", why="username and realname to varchar(255), realname NOT NULL"),
        RebuildAccessLog(),
        Converge("repository", why="drop owner_id"),
        Converge("replication_target", why="username to varchar(255)"),
        Converge("img_scan_job", why="create"),
        Converge("img_scan_overview", why="create (with the unique image_digest a fresh 1.2 has)"),
        Converge("clair_vuln_timestamp", why="create"),
    ]
    return Step("1.2.0", "access_log keeps user names; vulnerability scanning tables",
                _finish("1.2.0", ops))


# -- 1.3.0 -----------------------------------------------------------------------
def _public_probe(ctx: StepContext) -> str | None:
    project = ctx.live("project")
    if project is None or project.column("public") is None or ctx.live("project_metadata") is None:
        return None
    return ("SELECT COUNT(*) FROM project p WHERE NOT EXISTS (SELECT 1 FROM project_metadata m "
            "WHERE m.project_id = p.project_id AND m.name = 'public')")


def _public_sql(ctx: StepContext) -> list[str]:
    # Soft-deleted projects get their row too, as Harbor's 1.3.0 gives them.
    return ["INSERT INTO project_metadata (project_id, name, value, deleted)\n"
            "SELECT p.project_id, 'public', IF(p.public <> 0, 'true', 'false'), 0 FROM project p\n"
            "WHERE NOT EXISTS (SELECT 1 FROM project_metadata m WHERE m.project_id = p.project_id "
            "AND m.name = 'public')\nORDER BY p.project_id"]


def _step_1_3_0() -> Step:
    ops: list[Op] = [
        Converge("project_metadata", why="create"),
        DataMove("project_metadata: a 'public' row per project from project.public", ("project", "project_metadata"),
                 _public_probe, _public_sql, fills=("project_metadata",)),
        Converge("project", why="drop public (after its values are copied)"),
        Converge("replication_target", why="add insecure"),
    ]
    return Step("1.3.0", "project metadata replaces project.public; per-target insecure flag",
                _finish("1.3.0", ops))


# -- 1.4.0 -----------------------------------------------------------------------
def _policy_probe(ctx: StepContext) -> str | None:
    if ctx.live("replication_immediate_trigger") is None:
        return None
    return f"SELECT COUNT(*) FROM replication_policy WHERE {_unmigrated()}"


def _policy_sql(ctx: StepContext) -> list[str]:
    todo = _unmigrated()
    keep = "update_time = update_time"  # the rows change, their history does not
    if ctx.with_admiral:
        return [f"UPDATE replication_policy SET enabled = 1, cron_str = '{{\"kind\":\"Manual\"}}', {keep} WHERE {todo}"]
    return [
        # One trigger per enabled policy (soft-deleted ones too, as Harbor does); the
        # namespace is the project's stored name. A policy whose project row is gone
        # gets no trigger: there is no namespace to watch (pre-flight warns about it).
        "INSERT INTO replication_immediate_trigger (policy_id, namespace, on_push, on_deletion)\n"
        "SELECT rp.id, p.name, 1, 1 FROM replication_policy rp JOIN project p ON p.project_id = rp.project_id\n"
        f"WHERE rp.enabled = 1 AND {_unmigrated('rp.')}\n"
        "ORDER BY rp.id",
        f"UPDATE replication_policy SET cron_str = '{{\"kind\":\"Immediate\"}}', {keep} WHERE enabled = 1 AND {todo}",
        f"UPDATE replication_policy SET enabled = 1, cron_str = '{{\"kind\":\"Manual\"}}', {keep} WHERE {todo}",
    ]


def _step_1_4_0() -> Step:
    ops: list[Op] = [
        Converge("project", why="name to varchar(255)"),
        Converge("replication_policy", why="add filters and replicate_deletion before start_time"),
        Converge("replication_immediate_trigger", why="create"),
        DataMove("replication_policy: trigger kind into cron_str, immediate triggers for enabled policies",
                 ("replication_policy", "replication_immediate_trigger", "project"), _policy_probe, _policy_sql,
                 fills=("replication_immediate_trigger",)),
        Converge("properties", why="id first as primary key, k unique (one ALTER: never without a primary key)"),
    ]
    return Step("1.4.0", "replication triggers and filters; properties gets an id",
                _finish("1.4.0", ops))


# -- 1.5.0 -----------------------------------------------------------------------
def _entity_type_probe(ctx: StepContext) -> str | None:
    member = ctx.live("project_member")
    if member is None or member.column("entity_type") is None:
        return None
    return "SELECT COUNT(*) FROM project_member WHERE entity_type IS NULL OR entity_type = ''"


def _step_1_5_0() -> Step:
    ops: list[Op] = [
        Converge("harbor_label", why="create"),
        Converge("harbor_resource_label", why="create"),
        Converge("user_group", why="create"),
        # Only for databases that Harbor's own 1.5.0 left half-done.
        DataMove("project_member: entity_type 'u' where a half-done run left it empty", ("project_member",),
                 _entity_type_probe,
                 lambda ctx: ["UPDATE project_member SET entity_type = 'u', update_time = update_time "
                              "WHERE entity_type IS NULL OR entity_type = ''"]),
        Converge("project_member", renames={"entity_id": "user_id"}, fills={"entity_type": "'u'"},
                 why="id in old key order, user_id -> entity_id, entity_type 'u', unique key"),
        Converge("replication_job", why="add job_uuid and index poid_status"),
        Converge("img_scan_job", why="add job_uuid and four indexes"),
    ]
    return Step("1.5.0", "members may be groups; labels; job uuids",
                _finish("1.5.0", ops))


def _early_steps() -> list[Step]:
    return [
        Step("0.1.1", "project roles become members; sysadmin flag; properties", step_0_1_1(_finish)),
        Step("0.3.0", "replication tables; wider email and repo_name", step_0_3_0(_finish)),
        Step("0.4.0", "repository table; longer names; log and job indexes", step_0_4_0(_finish)),
    ]


STEPS: dict[str, Step] = {s.revision: s for s in (*_early_steps(), _step_1_2_0(), _step_1_3_0(), _step_1_4_0(),
                                                 _step_1_5_0())}
