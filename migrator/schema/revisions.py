"""Harbor's schema at each alembic revision, as a fresh install declares it.

Written from the revision notes in harbor-facts §2 and checked by the tests
against Harbor's own ``registry-*.sql`` when ../shared/harbor-reference is
present. Each revision is the previous one plus its changes, so the chain of
models reads like the chain of releases. ``0.4.0`` is a Harbor 0.4.x/0.5.0/1.1.x
database; ``1.5.0`` a Harbor 1.5.x one, the target.
"""
from __future__ import annotations

from .model import SchemaDecl, TableDecl


from .declare import STAMPS, c, fk, flag, ident, ix, pk, ts, ts_created, ts_updated, uq  # noqa: F401
from .revisions_early import ALEMBIC_VERSION, PROJECT_MEMBER as EARLY_PROJECT_MEMBER


# ---------------------------------------------------------------------------
# 0.4.0: Harbor 0.4.x, 0.5.0, 1.1.x
# ---------------------------------------------------------------------------
_ACCESS = TableDecl("access", (ident("access_id"), c("access_code", "char(1)"), c("comment", "varchar(30)")),
                    (pk("access_id"),))
_ROLE = TableDecl("role", (ident("role_id"), c("role_mask", "int", not_null=True, default="0"),
                           c("role_code", "varchar(20)"), c("name", "varchar(20)")), (pk("role_id"),))


def _user(username_type: str, realname_type: str) -> TableDecl:
    return TableDecl("user", (
        ident("user_id"), c("username", username_type), c("email", "varchar(255)"),
        c("password", "varchar(40)", not_null=True), c("realname", realname_type, not_null=True),
        c("comment", "varchar(30)"), flag("deleted"), c("reset_uuid", "varchar(40)"), c("salt", "varchar(40)"),
        c("sysadmin_flag", "tinyint(1)"), ts("creation_time"), ts("update_time"),
    ), (pk("user_id"), uq("username"), uq("email")))


def _project(name_type: str, with_public: bool) -> TableDecl:
    cols = [ident("project_id"), c("owner_id", "int", not_null=True), c("name", name_type, not_null=True),
            ts("creation_time"), ts("update_time"), flag("deleted")]
    if with_public:
        cols.append(flag("public"))
    return TableDecl("project", tuple(cols), (pk("project_id"), ix("owner_id"), uq("name")),
                     (fk("project_ibfk_1", "owner_id", "user", "user_id"),))


# Harbor 0.1.1 to 1.4.x: members keyed by (project, user), as 0.1.1 created them.
_PROJECT_MEMBER_OLD = EARLY_PROJECT_MEMBER

_LOG_TAIL = (c("project_id", "int", not_null=True), c("repo_name", "varchar(256)"), c("repo_tag", "varchar(128)"),
             c("GUID", "varchar(64)"), c("operation", "varchar(20)", not_null=True), ts("op_time"))

_ACCESS_LOG_OLD = TableDecl("access_log", (ident("log_id"), c("user_id", "int", not_null=True)) + _LOG_TAIL,
                            (pk("log_id"), ix("pid_optime", "project_id", "op_time"), ix("user_id")), (
    fk("access_log_ibfk_1", "user_id", "user", "user_id"),
    fk("access_log_ibfk_2", "project_id", "project", "project_id"),
))


def _repository(with_owner: bool) -> TableDecl:
    cols = [ident("repository_id"), c("name", "varchar(255)", not_null=True), c("project_id", "int", not_null=True)]
    if with_owner:
        cols.append(c("owner_id", "int", not_null=True))
    cols += [c("description", "text"), c("pull_count", "int", not_null=True, default="0"),
             c("star_count", "int", not_null=True, default="0"), *STAMPS]
    return TableDecl("repository", tuple(cols), (pk("repository_id"), uq("name")))


def _policy(with_14_columns: bool) -> TableDecl:
    cols = [ident(), c("name", "varchar(256)"), c("project_id", "int", not_null=True),
            c("target_id", "int", not_null=True), flag("enabled", "1"), c("description", "text"),
            flag("deleted"), c("cron_str", "varchar(256)")]
    if with_14_columns:
        cols += [c("filters", "varchar(1024)"), flag("replicate_deletion")]
    cols += [c("start_time", "timestamp", null=True), *STAMPS]
    return TableDecl("replication_policy", tuple(cols), (pk("id"),))


def _target(username_type: str, with_insecure: bool) -> TableDecl:
    cols = [ident(), c("name", "varchar(64)"), c("url", "varchar(64)"), c("username", username_type),
            c("password", "varchar(128)"), flag("target_type")]
    if with_insecure:
        cols.append(flag("insecure"))
    return TableDecl("replication_target", tuple(cols) + STAMPS, (pk("id"),))


def _job(with_uuid: bool) -> TableDecl:
    cols = [ident(), c("status", "varchar(64)", not_null=True), c("policy_id", "int", not_null=True),
            c("repository", "varchar(256)", not_null=True), c("operation", "varchar(64)", not_null=True),
            c("tags", "varchar(16384)")]
    indexes = [pk("id"), ix("policy", "policy_id"), ix("poid_uptime", "policy_id", "update_time")]
    if with_uuid:
        cols.append(c("job_uuid", "varchar(64)"))
        indexes.append(ix("poid_status", "policy_id", "status"))
    return TableDecl("replication_job", tuple(cols) + STAMPS, tuple(indexes))


_PROPERTIES_OLD = TableDecl("properties", (c("k", "varchar(64)", not_null=True), c("v", "varchar(128)", not_null=True)),
                            (pk("k"),))
# Harbor creates alembic_version with an explicit utf8 charset and no primary key.
ALEMBIC_VERSION_CHARSET = "utf8"

REV_0_4_0 = SchemaDecl("0.4.0", (
    _ACCESS, _ROLE, _user("varchar(32)", "varchar(20)"), _project("varchar(41)", True), _PROJECT_MEMBER_OLD,
    _ACCESS_LOG_OLD, _repository(True), _policy(False), _target("varchar(40)", False), _job(False),
    _PROPERTIES_OLD, ALEMBIC_VERSION,
))

# ---------------------------------------------------------------------------
# 1.2.0: access_log keeps the user's name instead of the id; scanning tables.
# ---------------------------------------------------------------------------
ACCESS_LOG = TableDecl("access_log", (ident("log_id"), c("username", "varchar(255)", not_null=True)) + _LOG_TAIL,
                       (pk("log_id"), ix("pid_optime", "project_id", "op_time")))


def _scan_job(with_uuid: bool) -> TableDecl:
    cols = [ident(), c("status", "varchar(64)", not_null=True), c("repository", "varchar(256)", not_null=True),
            c("tag", "varchar(128)", not_null=True), c("digest", "varchar(128)")]
    indexes = [pk("id")]
    if with_uuid:
        cols.append(c("job_uuid", "varchar(64)"))
        indexes += [ix("idx_status", "status"), ix("idx_digest", "digest"), ix("idx_uuid", "job_uuid"),
                    ix("idx_repository_tag", "repository", "tag")]
    return TableDecl("img_scan_job", tuple(cols) + STAMPS, tuple(indexes))


_SCAN_OVERVIEW = TableDecl("img_scan_overview", (
    ident(), c("image_digest", "varchar(128)", not_null=True), c("scan_job_id", "int", not_null=True),
    c("severity", "int", not_null=True, default="0"), c("components_overview", "varchar(2048)"),
    c("details_key", "varchar(128)"), *STAMPS,
), (pk("id"), uq("image_digest")))

_CLAIR = TableDecl("clair_vuln_timestamp", (
    ident(), c("namespace", "varchar(128)", not_null=True), c("last_update", "timestamp", not_null=True),
), (pk("id"), uq("namespace")))

REV_1_2_0 = REV_0_4_0.replace("1.2.0", put=[
    _user("varchar(255)", "varchar(255)"), ACCESS_LOG, _repository(False), _target("varchar(255)", False),
    _scan_job(False), _SCAN_OVERVIEW, _CLAIR,
])

# ---------------------------------------------------------------------------
# 1.3.0: project.public becomes a project_metadata row; per-target insecure.
# ---------------------------------------------------------------------------
PROJECT_METADATA = TableDecl("project_metadata", (
    ident(), c("project_id", "int", not_null=True), c("name", "varchar(255)", not_null=True),
    c("value", "varchar(255)"), *STAMPS, flag("deleted"),
), (pk("id"), uq("unique_project_id_and_name", "project_id", "name")),
    (fk("project_metadata_ibfk_1", "project_id", "project", "project_id"),))

REV_1_3_0 = REV_1_2_0.replace("1.3.0", put=[
    _project("varchar(41)", False), PROJECT_METADATA, _target("varchar(255)", True),
])

# ---------------------------------------------------------------------------
# 1.4.0: replication triggers and filters; properties gets a surrogate id.
# ---------------------------------------------------------------------------
IMMEDIATE_TRIGGER = TableDecl("replication_immediate_trigger", (
    ident(), c("policy_id", "int", not_null=True), c("namespace", "varchar(256)", not_null=True),
    flag("on_push"), flag("on_deletion"), *STAMPS,
), (pk("id"),))

PROPERTIES = TableDecl("properties", (
    ident(), c("k", "varchar(64)", not_null=True), c("v", "varchar(128)", not_null=True),
), (pk("id"), uq("k")))

REV_1_4_0 = REV_1_3_0.replace("1.4.0", put=[
    _project("varchar(255)", False), _policy(True), IMMEDIATE_TRIGGER, PROPERTIES,
])

# ---------------------------------------------------------------------------
# 1.5.0: members can be users or groups; labels; job uuids and their indexes.
# ---------------------------------------------------------------------------
PROJECT_MEMBER = TableDecl("project_member", (
    ident(), c("project_id", "int", not_null=True), c("entity_id", "int", not_null=True),
    c("entity_type", "char(1)", not_null=True), c("role", "int", not_null=True), *STAMPS,
), (pk("id"), uq("unique_project_entity_type", "project_id", "entity_id", "entity_type")))

USER_GROUP = TableDecl("user_group", (
    ident(), c("group_name", "varchar(255)", not_null=True), c("group_type", "int", default="0"),
    c("ldap_group_dn", "varchar(512)", not_null=True), *STAMPS,
), (pk("id"),))

HARBOR_LABEL = TableDecl("harbor_label", (
    ident(), c("name", "varchar(128)", not_null=True), c("description", "text"), c("color", "varchar(16)"),
    c("level", "char(1)", not_null=True), c("scope", "char(1)", not_null=True), c("project_id", "int"), *STAMPS,
), (pk("id"), uq("unique_label", "name", "scope", "project_id")))

HARBOR_RESOURCE_LABEL = TableDecl("harbor_resource_label", (
    ident(), c("label_id", "int", not_null=True), c("resource_id", "int"), c("resource_name", "varchar(256)"),
    c("resource_type", "char(1)", not_null=True), *STAMPS,
), (pk("id"), uq("unique_label_resource", "label_id", "resource_id", "resource_name", "resource_type")))

REV_1_5_0 = REV_1_4_0.replace("1.5.0", put=[
    PROJECT_MEMBER, USER_GROUP, _job(True), _scan_job(True), HARBOR_LABEL, HARBOR_RESOURCE_LABEL,
])

from .revisions_early import REV_0_1_0, REV_0_1_1, REV_0_3_0  # noqa: E402  (after the shared tables above)

MODELS: dict[str, SchemaDecl] = {m.revision: m for m in (REV_0_1_0, REV_0_1_1, REV_0_3_0, REV_0_4_0, REV_1_2_0,
                                                         REV_1_3_0, REV_1_4_0, REV_1_5_0)}
