"""Every older starting point upgrades to the same fresh 1.5.2 shape, nothing lost."""
from __future__ import annotations

import json

import pytest

from migrator import api
from migrator.verdicts import Verdict
from migrator.mysql.connection import connect
from migrator.chain.executor import UpgradeOptions
from migrator.schema.diff import compare
from migrator.schema.introspect import introspect
from migrator.snapshot.take import take_snapshot
from tests.conftest import load_reference_sql
from tests.early_seed import seed_early
from tests.helpers import rows

pytestmark = pytest.mark.integration


def _seed(dbs, revision, **kw):
    name = dbs.create(f"e{revision.replace('.', '')}")
    settings = dbs.settings(name)
    with connect(settings) as db:
        seed_early(db, revision, **kw)
    return settings


def _upgrade_clean(settings):
    outcome = api.upgrade(settings, UpgradeOptions())
    with connect(settings) as db:
        assert api.schema_drift(db) == []
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("1.5.0",)]
    return outcome


@pytest.mark.parametrize("revision,stamped", [("0.1.0", False), ("0.1.1", True), ("0.1.1", False),
                                              ("0.3.0", True)])
def test_recognised_and_upgraded(dbs, revision, stamped):
    settings = _seed(dbs, revision, stamped=stamped)
    st = api.status(settings)
    assert st.start == revision, st.message
    if stamped or revision == "0.1.0":
        assert st.state == "clean", st.drift
    else:  # a fresh 0.1.1 install never saw Harbor's migrator: only the version table is missing
        assert [d.table for d in st.drift] == ["alembic_version"]
    outcome = _upgrade_clean(settings)
    chain = ["0.1.1", "0.3.0", "0.4.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0"]
    assert [s.revision for s in outcome.result.steps] == chain[chain.index(revision) + 1 if revision != "0.1.0"
                                                               else 0:]
    # names and timestamps survive the whole chain
    log = rows(settings, "SELECT username, CAST(op_time AS CHAR) FROM access_log ORDER BY log_id")
    assert ("zhang张三", "2016-05-03 11:00:00" if revision == "0.1.0" else "2016-08-03 00:00:00") in log


def test_members_of_a_010_database_keep_their_privilege_level(dbs):
    """Our decision for the 0.1.1 renumbering (Harbor's own tool demotes every member one level)."""
    settings = _seed(dbs, "0.1.0")
    _upgrade_clean(settings)
    members = rows(settings, "SELECT m.project_id, u.username, r.name FROM project_member m JOIN user u "
                             "ON u.user_id = m.entity_id JOIN role r ON r.role_id = m.role ORDER BY m.id")
    assert members == [(1, "admin", "projectAdmin"), (2, "alice", "projectAdmin"), (2, "bob", "developer"),
                       (2, "zhang张三", "guest"), (2, "carol", "projectAdmin")]
    assert rows(settings, "SELECT username FROM user WHERE sysadmin_flag = 1 ORDER BY user_id") == [("admin",),
                                                                                                   ("carol",)]
    assert rows(settings, "SELECT role_id, role_code, name FROM role ORDER BY role_id") == [
        (1, "MDRWS", "projectAdmin"), (2, "RWS", "developer"), (3, "RS", "guest")]
    assert rows(settings, "SELECT access_id, access_code FROM access ORDER BY access_id") == [
        (1, "M"), (2, "R"), (3, "W"), (4, "D"), (5, "S")]
    assert rows(settings, "SELECT k, v FROM properties") == [("schema_version", "0.1.1")]
    for table in ("project_role", "user_project_role"):
        assert rows(settings, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                              "AND TABLE_NAME = %s", (table,)) == [(0,)]


@pytest.mark.parametrize("file,revision", [
    ("registry-0.1.0.sql", "0.1.0"), ("registry-0.1.1.sql", "0.1.1"), ("registry-0.3.0.sql", "0.3.0"),
    ("registry-0.4.0.sql", "0.4.0"), ("registry-0.5.0.sql", "0.4.0"), ("registry-1.2.2.sql", "1.2.0"),
    ("registry-1.3.0.sql", "1.3.0"), ("registry-1.4.0.sql", "1.4.0")])
def test_harbors_own_fresh_installs_upgrade_to_a_fresh_152(dbs, reference, file, revision, tmp_path):
    name = dbs.create("ref")
    load_reference_sql(dbs.server, name, reference / "schema" / file)
    settings = dbs.settings(name)
    assert api.status(settings).start == revision
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    assert json.loads(manifest.read_text())["revision"] == revision
    _upgrade_clean(settings)
    report = api.verify(settings, snapshot=str(manifest), only=("data",))  # Harbor's own rows, as before
    assert report.ok, [c.line() for c in report.checks if c.status != Verdict.OK]
    fresh = dbs.create("fresh")
    load_reference_sql(dbs.server, fresh, reference / "schema" / "registry-1.5.2.sql")
    with connect(settings) as a, connect(dbs.settings(fresh)) as b:
        assert compare(introspect(b), introspect(a)) == []
    assert rows(settings, "SELECT COUNT(*) FROM project_metadata WHERE name = 'public' AND value = 'true'") == [(1,)]


REPLICATION_030 = [
    "INSERT INTO replication_target (id, name, url, username, password, target_type, creation_time, update_time) "
    "VALUES (1, 'dr', 'https://dr.example.com', 'admin', 'enc', 0, '2016-09-01 00:00:00', '2016-09-01 00:00:00')",
    "INSERT INTO replication_policy (id, name, project_id, target_id, enabled, description, cron_str, start_time, "
    "creation_time, update_time) VALUES (1, 'to-dr', 2, 1, 1, 'push all', NULL, '2016-09-01 00:00:00', "
    "'2016-09-01 00:00:00', '2016-09-01 00:00:00'), (2, 'off', 1, 1, 0, NULL, NULL, NULL, "
    "'2016-09-01 00:00:00', '2016-09-01 00:00:00')",
    "INSERT INTO replication_job (id, status, policy_id, repository, operation, tags, creation_time, update_time) "
    "VALUES (1, 'finished', 1, 'private/app', 'transfer', 'v1,v2', '2016-09-02 00:00:00', '2016-09-02 00:01:00'), "
    "(2, 'error', 1, 'private/app', 'delete', NULL, '2016-09-03 00:00:00', '2016-09-03 00:01:00')",
]


@pytest.mark.parametrize("revision,stamped", [("0.1.0", False), ("0.1.1", False), ("0.3.0", True)])
def test_verified_against_the_snapshot_taken_before(dbs, revision, stamped, tmp_path):
    """verify --snapshot after an older start: what existed then is compared (0.1.0's members and
    sysadmin flags as 0.1.1 derives them), and a change after the upgrade is named by its key."""
    settings = _seed(dbs, revision, stamped=stamped)
    with connect(settings) as db:
        for sql in REPLICATION_030 if revision == "0.3.0" else ():
            db.execute(sql)
        manifest = take_snapshot(db, tmp_path)
    assert json.loads(manifest.read_text())["revision"] == revision  # found by the schema when not stamped
    _upgrade_clean(settings)
    report = api.verify(settings, snapshot=str(manifest), only=("data",))
    checks = {c.name: c for c in report.checks}
    assert report.ok, [c.line() for c in report.checks if c.status != Verdict.OK]
    assert checks["data.members"].message == f"{5 if revision == '0.1.0' else 3} rows, as before the upgrade"
    assert checks["data.replication_jobs"].message.startswith(f"{2 if revision == '0.3.0' else 0} rows")
    if revision == "0.3.0":
        assert checks["data.replication_policies"].message.startswith("2 rows")
        assert checks["data.replication_triggers"].message.startswith("1 rows")
    member = 4 if revision == "0.1.0" else 3  # bob, developer on project 2 / zhang, projectAdmin on 'private'
    with connect(settings) as db:
        db.execute("UPDATE project_member SET role = 3 WHERE project_id = 2 AND entity_id = %s", (member,))
        db.execute("UPDATE user SET sysadmin_flag = 1 - sysadmin_flag, update_time = update_time WHERE user_id = 3")
        db.execute("DELETE FROM replication_job WHERE id = 2")
    checks = {c.name: c for c in api.verify(settings, snapshot=str(manifest), only=("data",)).checks}
    assert checks["data.members"].details == [f"members: 1 changed: 2:{member}"]
    assert checks["data.users"].details == ["users: 1 changed: 3"]
    assert (checks["data.replication_jobs"].details == ["replication_job: 1 missing: id 2"]) == (revision == "0.3.0")
