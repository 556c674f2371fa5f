"""Build a Harbor 0.5.0 database (revision 0.4.0) from our own model, with sample rows.

The tables are created as Harbor's 0.5.0 ``registry.sql`` declares them, so the
server applies its own timestamp rules exactly as on a real install; the base
rows are the ones a fresh 0.5.0 install has. ``SAMPLE`` adds rows that exercise
every transformation of the chain and every hazard: deleted users and
projects, non-Latin-1 names, log rows of users that no longer exist, enabled,
disabled and soft-deleted replication policies, a policy whose project row is
gone, zero timestamps, members inserted out of key order, a deleted tail log
row (so the AUTO_INCREMENT counter is ahead of the data).
"""
from __future__ import annotations

from ..mysql.connection import Database
from ..schema.model import render_create_declared
from ..schema.revisions import ALEMBIC_VERSION_CHARSET, REV_0_4_0

BASE_SQL = [
    "INSERT INTO access (access_code, comment) VALUES ('M', 'Management access for project'), "
    "('R', 'Read access for project'), ('W', 'Write access for project'), "
    "('D', 'Delete access for project'), ('S', 'Search access for project')",
    "INSERT INTO role (role_code, name) VALUES ('MDRWS', 'projectAdmin'), ('RWS', 'developer'), ('RS', 'guest')",
    "INSERT INTO user (username, email, password, realname, comment, deleted, sysadmin_flag, creation_time, "
    "update_time) VALUES ('admin', 'admin@example.com', '', 'system admin', 'admin user', 0, 1, NOW(), NOW()), "
    "('anonymous', 'anonymous@example.com', '', 'anonymous user', 'anonymous user', 1, 0, NOW(), NOW())",
    "INSERT INTO project (owner_id, name, creation_time, update_time, public) VALUES (1, 'library', NOW(), NOW(), 1)",
    "INSERT INTO project_member (project_id, user_id, role, creation_time, update_time) VALUES (1, 1, 1, NOW(), NOW())",
    "INSERT INTO alembic_version VALUES ('0.4.0')",
]

# (user_id, username, email, realname, deleted, sysadmin_flag, creation_time, update_time)
SAMPLE_USERS = [
    (3, "alice", "alice@example.com", "Alice A", 0, 0, "2017-01-10 09:00:00", "2017-01-10 09:00:00"),
    (4, "bob", "bob@example.com", "Bob B", 0, 0, "2017-01-11 09:00:00", "0000-00-00 00:00:00"),
    (5, "zhang张三", "zhang@example.com", "张三", 0, 0, "2017-02-01 08:30:00", "2017-02-01 08:30:00"),
    (6, "carol#6", "carol@example.com#6", "Carol C", 1, 0, "2017-02-02 08:30:00", "2017-05-05 05:05:05"),
    (7, "dave", "dave@example.com", "Dave D", 0, 0, "2017-02-03 08:30:00", "2017-02-03 08:30:00"),
    (8, "émile", "emile@example.com", "Émile É", 0, 1, "2017-02-04 08:30:00", "2017-02-04 08:30:00"),
]
# (project_id, owner_id, name, creation_time, update_time, deleted, public)
SAMPLE_PROJECTS = [
    (2, 3, "private-team", "2017-01-12 10:00:00", "2017-01-12 10:00:00", 0, 0),
    (3, 4, "public-apps", "2017-01-13 10:00:00", "0000-00-00 00:00:00", 0, 1),
    (4, 6, "old#4", "2017-01-14 10:00:00", "2017-06-01 10:00:00", 1, 1),
    (5, 3, "qa", "2017-01-15 10:00:00", "2017-01-15 10:00:00", 0, 0),
]
# (project_id, user_id, role): inserted in this (not key) order on purpose.
SAMPLE_MEMBERS = [(5, 8, 3), (5, 3, 1), (2, 7, 3), (2, 3, 1), (3, 5, 2), (2, 4, 2), (4, 6, 1), (3, 4, 1)]
# (repository_id, name, project_id, owner_id, pull_count, star_count)
SAMPLE_REPOSITORIES = [
    (1, "library/busybox", 1, 1, 12, 1),
    (2, "private-team/api", 2, 3, 3, 0),
    (3, "public-apps/web", 3, 4, 40, 2),
    (4, "old#4/legacy", 4, 6, 0, 0),
]
# (log_id, user_id, project_id, repo_name, repo_tag, GUID, operation, op_time)
SAMPLE_LOGS = [
    (1, 1, 1, "library/", "N/A", None, "create", "2017-01-09 12:00:00"),
    (2, 3, 2, "private-team/api", "v1", "guid-2", "push", "2017-03-01 10:00:00"),
    (3, 5, 3, "public-apps/web", "latest", "guid-3", "pull", "2017-03-02 11:00:00"),
    (4, 6, 4, "old#4/legacy", "1.0", "guid-4", "push", "2017-03-03 12:00:00"),
    (5, 99, 3, "public-apps/web", "latest", None, "pull", "2017-03-04 13:00:00"),  # user row gone
    (6, 4, 3, "public-apps/web", "v2", None, "delete", "0000-00-00 00:00:00"),
    (7, 8, 5, "qa/tool", "ü-tag", "guid-7", "push", "2017-12-31 23:59:59"),
    (8, 3, 2, "private-team/api", "tmp", None, "push", "2018-01-01 00:00:00"),      # deleted below
]
# (id, name, url, username, password, target_type)
SAMPLE_TARGETS = [
    (1, "dr-site", "https://dr.example.com", "replicator", "<enc-v1>c2FtcGxlIHBhc3N3b3Jk", 0),
    (2, "mirror", "http://mirror.example.com:5000", "bot", None, 1),
]
# (id, name, project_id, target_id, enabled, description, deleted, start_time)
SAMPLE_POLICIES = [
    (1, "to-dr", 2, 1, 1, "nightly DR copy", 0, "2017-03-01 00:00:00"),
    (2, "mirror-public", 3, 2, 0, None, 0, None),
    (3, "old-policy", 4, 1, 1, "on a deleted project", 1, None),
    (4, "orphan-on", 42, 1, 1, "project row gone", 0, None),
    (5, "orphan-off", 43, 2, 0, "project row gone, disabled", 0, None),
    (6, "qa-copy", 5, 1, 1, None, 0, None),
]
# (id, status, policy_id, repository, operation, tags, creation_time, update_time)
SAMPLE_JOBS = [
    (1, "finished", 1, "private-team/api", "transfer", "v1,v2", "2017-03-01 01:00:00", "2017-03-01 01:05:00"),
    (2, "error", 1, "private-team/api", "delete", "v0", "2017-03-02 01:00:00", "2017-03-02 01:01:00"),
    (3, "pending", 6, "qa/tool", "transfer", None, "2017-03-03 01:00:00", "2017-03-03 01:00:00"),
]


def create_schema_050(db: Database) -> None:
    """Create the 0.5.0 tables and base rows, as a fresh 0.5.0 install would."""
    for table in REV_0_4_0.tables:
        engine = f" ENGINE=InnoDB DEFAULT CHARSET={ALEMBIC_VERSION_CHARSET}" if table.name == "alembic_version" else ""
        db.execute(render_create_declared(table, engine))
    for sql in BASE_SQL:
        db.execute(sql)


def insert_sample(db: Database) -> None:
    """Rows exercising every transformation and hazard (see module docstring)."""
    db.execute("SET SESSION foreign_key_checks = 0")  # log rows of users that no longer exist
    try:
        db.conn.cursor().executemany(
            "INSERT INTO user (user_id, username, email, password, realname, comment, deleted, sysadmin_flag, "
            "creation_time, update_time, salt) VALUES (%s, %s, %s, 'hash', %s, NULL, %s, %s, %s, %s, 'salt')",
            SAMPLE_USERS)
        db.conn.cursor().executemany(
            "INSERT INTO project (project_id, owner_id, name, creation_time, update_time, deleted, public) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s)", SAMPLE_PROJECTS)
        db.conn.cursor().executemany(
            "INSERT INTO project_member (project_id, user_id, role, creation_time, update_time) "
            "VALUES (%s, %s, %s, '2017-04-01 00:00:00', '2017-04-02 00:00:00')", SAMPLE_MEMBERS)
        db.conn.cursor().executemany(
            "INSERT INTO repository (repository_id, name, project_id, owner_id, description, pull_count, star_count, "
            "creation_time, update_time) VALUES (%s, %s, %s, %s, NULL, %s, %s, '2017-03-01 00:00:00', "
            "'2017-03-05 00:00:00')", SAMPLE_REPOSITORIES)
        db.conn.cursor().executemany(
            "INSERT INTO access_log (log_id, user_id, project_id, repo_name, repo_tag, GUID, operation, op_time) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", SAMPLE_LOGS)
        db.execute("DELETE FROM access_log WHERE log_id = 8")
        db.conn.cursor().executemany(
            "INSERT INTO replication_target (id, name, url, username, password, target_type, creation_time, "
            "update_time) VALUES (%s, %s, %s, %s, %s, %s, '2017-02-01 00:00:00', '2017-02-01 00:00:00')",
            SAMPLE_TARGETS)
        db.conn.cursor().executemany(
            "INSERT INTO replication_policy (id, name, project_id, target_id, enabled, description, deleted, "
            "start_time, creation_time, update_time) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, "
            "'2017-02-10 00:00:00', '2017-02-11 00:00:00')", SAMPLE_POLICIES)
        db.conn.cursor().executemany(
            "INSERT INTO replication_job (id, status, policy_id, repository, operation, tags, creation_time, "
            "update_time) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", SAMPLE_JOBS)
    finally:
        db.execute("SET SESSION foreign_key_checks = 1")


def add_log_volume(db: Database, rows: int) -> None:
    """Append ``rows`` generated access_log rows (set-based, for the demo's timings)."""
    if rows <= 0:
        return
    db.execute(
        "INSERT INTO access_log (user_id, project_id, repo_name, repo_tag, GUID, operation, op_time) "
        "SELECT ELT(1 + seq % 5, 1, 3, 4, 5, 8), ELT(1 + seq % 3, 1, 2, 3), "
        "CONCAT(ELT(1 + seq % 3, 'library', 'private-team', 'public-apps'), '/app', seq % 50), "
        "CONCAT('v', seq % 20), NULL, ELT(1 + seq % 4, 'pull', 'pull', 'push', 'pull'), "
        "TIMESTAMP('2017-06-01') + INTERVAL seq MINUTE "
        f"FROM seq_1_to_{int(rows)}")


def seed_050(db: Database, sample: bool = True, log_rows: int = 0) -> None:
    create_schema_050(db)
    if sample:
        insert_sample(db)
    if log_rows:
        add_log_volume(db, log_rows)
