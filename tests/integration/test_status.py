"""status: declared vs fingerprinted revision, drift, dirty and lying databases."""
from __future__ import annotations

import pytest

from migrator import api
from migrator.mysql.connection import connect
from migrator.errors import NotHarbor, UnknownVersion
from migrator.chain.executor import UpgradeOptions
from tests.helpers import rows

pytestmark = pytest.mark.integration


def test_clean_050(dbs_off):
    st = api.status(dbs_off.seeded())
    assert (st.state, st.declared, st.detected, st.start) == ("clean", "0.4.0", "0.4.0", "0.4.0")
    assert "0.5.0" in st.releases
    assert "***" not in st.database or ":" in st.database  # masked DSN shape
    assert st.to_json()["drift"] == []


def test_missing_alembic_version_is_fingerprinted(dbs_off):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("DROP TABLE alembic_version")
    st = api.status(settings)
    assert (st.declared, st.detected, st.start) == (None, "0.4.0", "0.4.0")
    assert any(d.table == "alembic_version" for d in st.drift)
    # upgrade starts from the fingerprint, recreating nothing it does not know: the version table is reported
    with connect(settings) as db:
        db.execute("CREATE TABLE alembic_version (version_num varchar(32) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8")
    outcome = api.upgrade(settings, UpgradeOptions())
    assert outcome.after.state == "clean"


def test_lying_alembic_version_is_refused(dbs_off):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("UPDATE alembic_version SET version_num = '1.5.0'")
    st = api.status(settings)
    assert st.state == "mismatch" and st.detected == "0.4.0"
    with pytest.raises(UnknownVersion, match="says 1.5.0 but the schema matches 0.4.0"):
        api.upgrade(settings, UpgradeOptions())
    assert rows(settings, "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                          "AND TABLE_NAME = 'access_log' AND COLUMN_NAME = 'user_id'") == [(1,)]
    outcome = api.upgrade(settings, UpgradeOptions(), from_revision="0.4.0")
    assert outcome.after.state == "clean"


@pytest.mark.parametrize("value,match", [("1.6.0", "newer than 1.5.0"), ("banana", "unknown revision")])
def test_unknown_or_newer_revision(dbs_off, value, match):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("UPDATE alembic_version SET version_num = %s", (value,))
    with pytest.raises(UnknownVersion, match=match):
        api.status(settings)
    with pytest.raises(UnknownVersion):
        api.upgrade(settings, UpgradeOptions())


def test_not_harbor(dbs_off):
    name = dbs_off.create("empty")
    with pytest.raises(NotHarbor, match="empty"):
        api.status(dbs_off.settings(name))
    with connect(dbs_off.settings(name)) as db:
        db.execute("CREATE TABLE wordpress_posts (id int primary key)")
    with pytest.raises(NotHarbor, match="does not look like Harbor"):
        api.status(dbs_off.settings(name))


def test_harbor_chain_left_half_done_at_150(dbs_off):
    """Harbor's one-run chain stops at 1.5.0 (duplicate job_uuid) stamped 1.4.0: status says dirty, upgrade finishes."""
    settings = dbs_off.seeded()
    api.upgrade(settings, UpgradeOptions(target="1.4.0"))
    with connect(settings) as db:
        # What Harbor's 1.5.0 script had done when it failed (harbor-facts §1.4, §2.8), chain-shaped tables.
        db.execute("CREATE TABLE harbor_label (id int NOT NULL AUTO_INCREMENT, name varchar(128) NOT NULL, "
                   "description text, color varchar(16), level varchar(1) NOT NULL, scope varchar(1) NOT NULL, "
                   "project_id int NOT NULL, creation_time timestamp NULL DEFAULT CURRENT_TIMESTAMP, "
                   "update_time timestamp NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, "
                   "PRIMARY KEY (id), CONSTRAINT unique_label UNIQUE (name, scope, project_id))")
        db.execute("CREATE TABLE user_group (id int NOT NULL AUTO_INCREMENT, group_name varchar(128) NOT NULL, "
                   "group_type int DEFAULT 0, ldap_group_dn varchar(512) NOT NULL, PRIMARY KEY (id))")
        db.execute("ALTER TABLE project_member DROP FOREIGN KEY project_member_ibfk_1")
        db.execute("ALTER TABLE project_member DROP FOREIGN KEY project_member_ibfk_2")
        db.execute("ALTER TABLE project_member DROP FOREIGN KEY project_member_ibfk_3")
        db.execute("ALTER TABLE project_member DROP PRIMARY KEY")
        db.execute("DROP INDEX user_id ON project_member")
        db.execute("DROP INDEX `role` ON project_member")
        db.execute("ALTER TABLE project_member ADD id INT PRIMARY KEY AUTO_INCREMENT")
        db.execute("ALTER TABLE project_member CHANGE user_id entity_id INTEGER NOT NULL")
        db.execute("ALTER TABLE project_member ADD COLUMN entity_type VARCHAR(1)")
        db.execute("UPDATE project_member SET entity_type = 'u' WHERE id < 5")  # died in the middle
        db.execute("ALTER TABLE replication_job ADD COLUMN job_uuid VARCHAR(64)")
    st = api.status(settings)
    assert st.state == "dirty" and st.declared == "1.4.0"
    assert any("project_member" in p for p in st.pending)
    outcome = api.upgrade(settings, UpgradeOptions())
    assert outcome.after.state == "clean", outcome.after.drift
    assert rows(settings, "SELECT COUNT(*) FROM project_member WHERE entity_type = 'u'") == [(9,)]
    # ids were assigned by Harbor's half run in physical order; they are kept
    assert rows(settings, "SELECT id FROM project_member ORDER BY id")[0] == (1,)
