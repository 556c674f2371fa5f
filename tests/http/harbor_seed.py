"""Harbor 1.5.2 tables and rows for the HTTP-side verification tests and the registry benchmark.

Tables are created from the project's own 1.5.0 model (``REV_1_5_0``), so the
queries under test run against the columns Harbor 1.5.2 really has.
"""
from __future__ import annotations

from migrator.schema.model import render_create_declared
from migrator.schema.revisions import REV_1_5_0

TABLES = ("user", "project", "project_metadata", "project_member", "repository")

# Credentials the fakes and the token service accept (test-only values).
ADMIN = ("admin", "Harbor12345")
DEVELOPER = ("dev", "Dev12345")


def create_tables(db, tables=TABLES) -> None:
    for name in tables:
        db.execute(render_create_declared(REV_1_5_0.table(name)))


def add_user(db, uid: int, name: str, *, admin: bool = False, deleted: bool = False) -> None:
    db.execute("INSERT INTO `user` (user_id, username, email, password, realname, deleted, sysadmin_flag, salt, "
               "creation_time, update_time) VALUES (%s, %s, %s, 'x', %s, %s, %s, 'salt', NOW(), NOW())",
               (uid, name, f"{name}@example.com", name, int(deleted), int(admin)))


def add_project(db, pid: int, name: str, *, owner: int = 1, deleted: bool = False, public: bool = False) -> None:
    db.execute("INSERT INTO project (project_id, owner_id, name, creation_time, update_time, deleted) "
               "VALUES (%s, %s, %s, NOW(), NOW(), %s)", (pid, owner, name, int(deleted)))
    db.execute("INSERT INTO project_metadata (project_id, name, value, deleted) VALUES (%s, 'public', %s, 0)",
               (pid, "true" if public else "false"))


def add_repository(db, name: str, project_id: int) -> None:
    db.execute("INSERT INTO repository (name, project_id) VALUES (%s, %s)", (name, project_id))


def add_member(db, project_id: int, user_id: int, role: int, entity_type: str = "u") -> None:
    db.execute("INSERT INTO project_member (project_id, entity_id, entity_type, role) VALUES (%s, %s, %s, %s)",
               (project_id, user_id, entity_type, role))


# The planted state shared by the registry tests (see test_http_registry.py for the expected outcome).
REGISTRY_TAGGED = {
    "library/alpine": ["3.7", "latest"],
    "library/busybox": ["1.28"],
    "library/nginx": ["1.13", "1.14"],        # no row: only in storage
    "dev/tool": ["v1", "v2", "v3"],
    "library/misfiled": ["1"],                # row points at project 'dev'
    "oldproj/app": ["v1"],                    # project deleted
    "ghost/app": ["v1"],                      # no such project
}
REGISTRY_EMPTIED = ("library/emptied",)       # pushed, then its manifest deleted: tags null
REGISTRY_LAYERS_ONLY = ("library/layersonly",)  # blobs only: tags/list says NAME_UNKNOWN


def seed_standard(db, extra_projects: int = 0) -> None:
    """Users, projects, members and repository rows with one planted difference of each kind."""
    create_tables(db)
    add_user(db, 1, "admin", admin=True)
    add_user(db, 2, "alice")
    add_user(db, 3, "bob")
    add_user(db, 4, "carol", deleted=True)
    add_project(db, 1, "library", public=True)
    add_project(db, 2, "dev", owner=2)
    add_project(db, 3, "oldproj", deleted=True)
    for i in range(extra_projects):
        add_project(db, 100 + i, f"p{i:03d}")
        add_member(db, 100 + i, 1, 1)
    add_member(db, 1, 1, 1)
    add_member(db, 1, 3, 3)
    add_member(db, 2, 2, 1)
    add_member(db, 2, 3, 2)
    add_member(db, 2, 4, 3)          # a deleted user: the API omits this member
    add_member(db, 3, 1, 1)
    for name, pid in (("library/alpine", 1), ("library/busybox", 1), ("library/emptied", 1),
                      ("library/onlydb", 1), ("oldproj/app", 3), ("dev/tool", 2), ("library/misfiled", 2)):
        add_repository(db, name, pid)
