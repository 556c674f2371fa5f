"""Harbor databases as 0.1.0, 0.1.1 and 0.3.0 installs left them, built from our own models.

Base rows as each release's registry.sql inserts them, plus members with every
old role (a user holding two roles on one project included) for the 0.1.1 role
renumbering.
"""
from __future__ import annotations

from migrator.mysql.connection import Database
from migrator.schema.model import render_create_declared
from migrator.schema.revisions import MODELS
from migrator.tools.seed import BASE_SQL

BASE_010 = [
    "INSERT INTO access VALUES (NULL, 'A', 'All access for the system'), (NULL, 'M', 'Management access for project'), "
    "(NULL, 'R', 'Read access for project'), (NULL, 'W', 'Write access for project'), "
    "(NULL, 'D', 'Delete access for project'), (NULL, 'S', 'Search access for project')",
    "INSERT INTO role VALUES (NULL, 'AMDRWS', 'sysAdmin'), (NULL, 'MDRWS', 'projectAdmin'), (NULL, 'RWS', 'developer'), "
    "(NULL, 'RS', 'guest')",
    "INSERT INTO user VALUES (1, 'admin', 'admin@example.com', '', 'system admin', 'admin user', 0, NULL, ''), "
    "(2, 'anonymous', 'anonymous@example.com', '', 'anonymous user', 'anonymous user', 1, NULL, '')",
    "INSERT INTO project VALUES (NULL, 1, 'library', NOW(), 0, 1)",
    "INSERT INTO project_role VALUES (1, 1, 1)",
    "INSERT INTO user_project_role VALUES (1, 1, 1)",
]
SAMPLE_010 = [
    "INSERT INTO user VALUES (3, 'alice', 'alice@example.com', 'h', 'Alice', NULL, 0, NULL, 's'), "
    "(4, 'bob', 'bob@example.com', 'h', 'Bob', NULL, 0, NULL, 's'), "
    "(5, 'zhang张三', 'zhang@example.com', 'h', '张三', NULL, 0, NULL, 's'), "
    "(6, 'carol', 'carol@example.com', 'h', 'Carol', NULL, 0, NULL, 's')",
    "INSERT INTO project VALUES (2, 3, 'team', '2016-05-01 10:00:00', 0, 0)",
    # one project_role per (project, role), as 0.1.0 kept them
    "INSERT INTO project_role VALUES (2, 2, 1), (3, 2, 2), (4, 2, 3), (5, 2, 4)",
    # alice projectAdmin, bob developer, zhang guest, carol sysAdmin and developer on 'team'
    "INSERT INTO user_project_role VALUES (2, 3, 3), (3, 4, 4), (4, 5, 5), (5, 6, 2), (6, 6, 4)",
    "INSERT INTO access_log VALUES (1, 3, 2, 'team/app', NULL, 'push', '2016-05-02 10:00:00'), "
    "(2, 5, 2, 'team/app', NULL, 'pull', '2016-05-03 11:00:00')",
]
# The rows Harbor's registry.sql inserts have not changed since 0.1.1: the 0.5.0 seed's, without its stamp.
BASE_011 = [sql for sql in BASE_SQL if "alembic_version" not in sql]


def seed_early(db: Database, revision: str, *, stamped: bool = True, sample: bool = True) -> None:
    """Create a database at ``revision`` (0.1.0, 0.1.1 or 0.3.0) from our model."""
    for table in MODELS[revision].tables:
        if table.name == "alembic_version" and not stamped:
            continue
        engine = " ENGINE=InnoDB DEFAULT CHARSET=utf8" if table.name == "alembic_version" else ""
        db.execute(render_create_declared(table, engine))
    if revision == "0.1.0":
        for sql in BASE_010 + (SAMPLE_010 if sample else []):
            db.execute(sql)
        return
    for sql in BASE_011:
        db.execute(sql)
    if revision == "0.1.1":
        db.execute("INSERT INTO properties (k, v) VALUES ('schema_version', '0.1.1')")
    if stamped:
        db.execute("INSERT INTO alembic_version VALUES (%s)", (revision,))
    if sample:
        db.execute("INSERT INTO user (user_id, username, email, password, realname, sysadmin_flag, creation_time, "
                   "update_time) VALUES (3, 'zhang张三', 'z@example.com', 'h', '张三', 0, '2016-08-01 00:00:00', "
                   "'2016-08-02 00:00:00')")
        db.execute("INSERT INTO project (project_id, owner_id, name, creation_time, update_time, public) VALUES "
                   "(2, 3, 'private', '2016-08-01 00:00:00', '2016-08-01 00:00:00', 0)")
        db.execute("INSERT INTO project_member (project_id, user_id, role, creation_time, update_time) VALUES "
                   "(2, 3, 1, '2016-08-01 00:00:00', '2016-08-01 00:00:00'), (1, 3, 3, NOW(), NOW())")
        db.execute("INSERT INTO access_log (user_id, project_id, repo_name, operation, op_time) VALUES "
                   "(3, 2, 'private/app', 'push', '2016-08-03 00:00:00')")
