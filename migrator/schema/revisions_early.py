"""Harbor before 0.4.0: 0.1.0 (no alembic_version), 0.1.1 and 0.3.0, as fresh installs declare them.

Checked against Harbor's ``registry-0.1.0.sql``, ``-0.1.1.sql`` and ``-0.3.0.sql``
by the tests. From 0.1.1 on, the model includes ``alembic_version``: Harbor's
own tool creates it on the first migration, and our chain stamps it.
"""
from __future__ import annotations

from .declare import STAMPS, c, fk, flag, ident, ix, pk, ts, uq
from .model import SchemaDecl, TableDecl

ACCESS = TableDecl("access", (ident("access_id"), c("access_code", "char(1)"), c("comment", "varchar(30)")),
                   (pk("access_id"),))
ALEMBIC_VERSION = TableDecl("alembic_version", (c("version_num", "varchar(32)", not_null=True),))


def _role(with_mask: bool) -> TableDecl:
    mask = (c("role_mask", "int", not_null=True, default="0"),) if with_mask else ()
    return TableDecl("role", (ident("role_id"),) + mask + (c("role_code", "varchar(20)"), c("name", "varchar(20)")),
                     (pk("role_id"),))


def _user(username: str, email: str, with_011_columns: bool) -> TableDecl:
    extra = (c("sysadmin_flag", "tinyint(1)"), ts("creation_time"), ts("update_time")) if with_011_columns else ()
    return TableDecl("user", (
        ident("user_id"), c("username", username), c("email", email), c("password", "varchar(40)", not_null=True),
        c("realname", "varchar(20)", not_null=True), c("comment", "varchar(30)"), flag("deleted"),
        c("reset_uuid", "varchar(40)"), c("salt", "varchar(40)"),
    ) + extra, (pk("user_id"), uq("username"), uq("email")))


def _project(with_update_time: bool) -> TableDecl:
    cols = [ident("project_id"), c("owner_id", "int", not_null=True), c("name", "varchar(30)", not_null=True),
            ts("creation_time")]
    if with_update_time:
        cols.append(ts("update_time"))
    cols += [flag("deleted"), flag("public")]
    return TableDecl("project", tuple(cols), (pk("project_id"), ix("owner_id"), uq("name")),
                     (fk("project_ibfk_1", "owner_id", "user", "user_id"),))


PROJECT_ROLE = TableDecl("project_role", (
    ident("pr_id"), c("project_id", "int", not_null=True), c("role_id", "int", not_null=True),
), (pk("pr_id"), ix("role_id"), ix("project_id")), (
    fk("project_role_ibfk_1", "role_id", "role", "role_id"),
    fk("project_role_ibfk_2", "project_id", "project", "project_id"),
))
USER_PROJECT_ROLE = TableDecl("user_project_role", (
    ident("upr_id"), c("user_id", "int", not_null=True), c("pr_id", "int", not_null=True),
), (pk("upr_id"), ix("user_id"), ix("pr_id")), (
    fk("user_project_role_ibfk_1", "user_id", "user", "user_id"),
    fk("user_project_role_ibfk_2", "pr_id", "project_role", "pr_id"),
))
PROJECT_MEMBER = TableDecl("project_member", (
    c("project_id", "int", not_null=True), c("user_id", "int", not_null=True), c("role", "int", not_null=True),
    ts("creation_time"), ts("update_time"),
), (pk("project_id", "user_id"), ix("role"), ix("user_id")), (
    fk("project_member_ibfk_1", "role", "role", "role_id"),
    fk("project_member_ibfk_2", "project_id", "project", "project_id"),
    fk("project_member_ibfk_3", "user_id", "user", "user_id"),
))


def _access_log(repo_name: str, with_tag: bool) -> TableDecl:
    tag = (c("repo_tag", "varchar(128)"),) if with_tag else ()
    return TableDecl("access_log", (
        ident("log_id"), c("user_id", "int", not_null=True), c("project_id", "int", not_null=True),
        c("repo_name", repo_name)) + tag + (c("GUID", "varchar(64)"), c("operation", "varchar(20)", not_null=True),
                                            ts("op_time")),
        (pk("log_id"), ix("user_id"), ix("project_id")), (
        fk("access_log_ibfk_1", "user_id", "user", "user_id"),
        fk("access_log_ibfk_2", "project_id", "project", "project_id"),
    ))


PROPERTIES = TableDecl("properties", (c("k", "varchar(64)", not_null=True), c("v", "varchar(128)", not_null=True)),
                       (pk("k"),))

REPLICATION_POLICY_030 = TableDecl("replication_policy", (
    ident(), c("name", "varchar(256)"), c("project_id", "int", not_null=True), c("target_id", "int", not_null=True),
    flag("enabled", "1"), c("description", "text"), c("cron_str", "varchar(256)"),
    c("start_time", "timestamp", null=True), *STAMPS), (pk("id"),))
REPLICATION_TARGET_030 = TableDecl("replication_target", (
    ident(), c("name", "varchar(64)"), c("url", "varchar(64)"), c("username", "varchar(40)"),
    c("password", "varchar(40)"), flag("target_type"), *STAMPS), (pk("id"),))
REPLICATION_JOB_030 = TableDecl("replication_job", (
    ident(), c("status", "varchar(64)", not_null=True), c("policy_id", "int", not_null=True),
    c("repository", "varchar(256)", not_null=True), c("operation", "varchar(64)", not_null=True),
    c("tags", "varchar(16384)"), *STAMPS), (pk("id"), ix("policy", "policy_id")))

REV_0_1_0 = SchemaDecl("0.1.0", (
    ACCESS, _role(False), _user("varchar(15)", "varchar(30)", False), _project(False), PROJECT_ROLE,
    USER_PROJECT_ROLE, _access_log("varchar(40)", False),
))
REV_0_1_1 = SchemaDecl("0.1.1", (
    ACCESS, _role(True), _user("varchar(15)", "varchar(30)", True), _project(True), PROJECT_MEMBER,
    _access_log("varchar(40)", False), PROPERTIES, ALEMBIC_VERSION,
))
REV_0_3_0 = REV_0_1_1.replace("0.3.0", put=[
    _user("varchar(15)", "varchar(128)", True), _access_log("varchar(256)", True),
    REPLICATION_POLICY_030, REPLICATION_TARGET_030, REPLICATION_JOB_030,
])
