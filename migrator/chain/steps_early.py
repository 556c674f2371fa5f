"""Harbor's revisions before 0.4.0 as operations: 0.1.1, 0.3.0 and 0.4.0.

0.1.1 is the only one that moves data: project roles become project members,
the sysAdmin role becomes the user's sysadmin_flag, and the role and access
tables lose their first row and are renumbered. Harbor's own 0.1.1 copies each
member's role id *before* renumbering, so every member ends one privilege
level lower (and guests on a role that no longer exists); harbor-migrate keeps
each member's level (docs/decisions.md). All of it is one transaction, so the
probe "is the sysAdmin role still there" is exact.
"""
from __future__ import annotations

from .ops import Converge, DataMove, DropTable, Op, StepContext


def _roles_probe(ctx: StepContext) -> str | None:
    if ctx.live("project_member") is None or ctx.live("project_role") is None:
        return None
    return "SELECT COUNT(*) FROM role WHERE role_code = 'AMDRWS'"


def _roles_sql(ctx: StepContext) -> list[str]:
    keep = "update_time = update_time"
    return [
        # A member's highest privilege (lowest old id) on each project, shifted to the new ids:
        # sysAdmin (1) and projectAdmin (2) -> projectAdmin (1), developer (3) -> 2, guest (4) -> 3.
        "INSERT INTO project_member (project_id, user_id, role, creation_time, update_time)\n"
        "SELECT pr.project_id, upr.user_id, GREATEST(MIN(pr.role_id) - 1, 1), NOW(), NOW()\n"
        "FROM user_project_role upr JOIN project_role pr ON pr.pr_id = upr.pr_id\n"
        "WHERE NOT EXISTS (SELECT 1 FROM project_member m WHERE m.project_id = pr.project_id "
        "AND m.user_id = upr.user_id)\n"
        "GROUP BY pr.project_id, upr.user_id ORDER BY pr.project_id, upr.user_id",
        f"UPDATE user SET sysadmin_flag = 0, {keep}",
        f"UPDATE user SET sysadmin_flag = 1, {keep} WHERE user_id IN (SELECT upr.user_id FROM user_project_role upr "
        "JOIN project_role pr ON pr.pr_id = upr.pr_id WHERE pr.role_id = 1)",
        "DELETE FROM role WHERE role_id = 1",
        "UPDATE role SET role_id = role_id - 1 ORDER BY role_id",
        "DELETE FROM access WHERE access_id = 1",
        "UPDATE access SET access_id = access_id - 1 ORDER BY access_id",
        "INSERT INTO properties (k, v) SELECT 'schema_version', '0.1.1' FROM DUAL "
        "WHERE NOT EXISTS (SELECT 1 FROM properties WHERE k = 'schema_version')",
    ]


def step_0_1_1(finish) -> tuple[Op, ...]:
    ops: list[Op] = [
        Converge("properties", why="create"),
        Converge("alembic_version", why="create (Harbor's tool does this on its first run)"),
        Converge("role", why="add role_mask"),
        Converge("user", why="add sysadmin_flag, creation_time, update_time"),
        Converge("project", why="add update_time"),
        Converge("project_member", why="create"),
        DataMove("project_member from project roles; sysadmin_flag; role and access renumbered",
                 ("project_member", "role", "access", "user", "properties"), _roles_probe, _roles_sql,
                 renumbers=("role", "access")),
        DropTable("user_project_role", "its rows are in project_member"),
        DropTable("project_role", "its rows are in project_member"),
    ]
    return finish("0.1.1", ops)


def step_0_3_0(finish) -> tuple[Op, ...]:
    ops: list[Op] = [
        Converge("user", why="email to varchar(128)"),
        Converge("access_log", why="repo_name to varchar(256), add repo_tag"),
        Converge("replication_target", why="create"),
        Converge("replication_policy", why="create"),
        Converge("replication_job", why="create"),
    ]
    return finish("0.3.0", ops)


def step_0_4_0(finish) -> tuple[Op, ...]:
    ops: list[Op] = [
        Converge("user", why="username to varchar(32), email to varchar(255)"),
        Converge("project", why="name to varchar(41)"),
        Converge("replication_target", why="password to varchar(128)"),
        Converge("replication_policy", why="add deleted"),
        Converge("access_log", why="index pid_optime"),
        Converge("replication_job", why="index poid_uptime"),
        Converge("repository", why="create"),
    ]
    return finish("0.4.0", ops)
