"""Databases and servers that differ from a stock install: names, history, settings."""
from __future__ import annotations

import pytest

from migrator import api
from migrator.mysql.connection import connect
from migrator.chain.executor import UpgradeOptions
from migrator.schema.introspect import introspect
from tests.helpers import rows

pytestmark = pytest.mark.integration


def _upgrade_and_check_clean(settings):
    outcome = api.upgrade(settings, UpgradeOptions())
    with connect(settings) as db:
        drift = api.schema_drift(db)
    assert drift == [], "\n".join(map(str, drift))
    return outcome


def test_foreign_keys_with_other_names(dbs):
    """As pt-online-schema-change leaves them: _access_log_ibfk_1, and custom member FK names."""
    settings = dbs.seeded()
    with connect(settings) as db:
        db.execute("ALTER TABLE access_log DROP FOREIGN KEY access_log_ibfk_1, DROP FOREIGN KEY access_log_ibfk_2")
        db.execute("SET SESSION foreign_key_checks = 0")  # the seed holds a log row of a user that is gone
        db.execute("ALTER TABLE access_log ADD CONSTRAINT _access_log_ibfk_1 FOREIGN KEY (user_id) REFERENCES user "
                   "(user_id), ADD CONSTRAINT _access_log_ibfk_2 FOREIGN KEY (project_id) REFERENCES project (project_id)")
        db.execute("ALTER TABLE project_member DROP FOREIGN KEY project_member_ibfk_1, "
                   "DROP FOREIGN KEY project_member_ibfk_3")
        db.execute("ALTER TABLE project_member ADD CONSTRAINT fk_member_role FOREIGN KEY (role) REFERENCES role "
                   "(role_id), ADD CONSTRAINT fk_member_user FOREIGN KEY (user_id) REFERENCES user (user_id)")
        db.execute("ALTER TABLE project DROP FOREIGN KEY project_ibfk_1")
        db.execute("ALTER TABLE project ADD CONSTRAINT _project_ibfk_1 FOREIGN KEY (owner_id) REFERENCES user (user_id)")
        names = {f.name for t in introspect(db).tables.values() for f in t.foreign_keys}
        assert "_access_log_ibfk_1" in names and "access_log_ibfk_1" not in names
    _upgrade_and_check_clean(settings)
    # the fresh 1.5.2 name is back on project's foreign key
    assert rows(settings, "SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
                          "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'project'") == [("project_ibfk_1",)]


def test_project_member_without_foreign_keys_and_nullable_timestamps(dbs):
    """Databases that came from 0.1.x: no member FKs or indexes, nullable timestamps added by 0.1.1."""
    settings = dbs.seeded()
    with connect(settings) as db:
        db.execute("ALTER TABLE project_member DROP FOREIGN KEY project_member_ibfk_1, DROP FOREIGN KEY "
                   "project_member_ibfk_2, DROP FOREIGN KEY project_member_ibfk_3")
        db.execute("ALTER TABLE project_member DROP INDEX role, DROP INDEX user_id")
        db.execute("ALTER TABLE user MODIFY creation_time timestamp NULL DEFAULT NULL, "
                   "MODIFY update_time timestamp NULL DEFAULT NULL")
        db.execute("ALTER TABLE replication_job MODIFY creation_time timestamp NULL DEFAULT NULL")
        db.execute("UPDATE user SET update_time = NULL WHERE user_id = 7")
        assert introspect(db, ["project_member"]).tables["project_member"].foreign_keys == ()
    info_mode = rows(settings, "SELECT @@GLOBAL.explicit_defaults_for_timestamp")[0][0]
    if not info_mode:
        # OFF: the fresh column is NOT NULL; a NULL row must be reported, not silently zeroed
        from migrator.errors import DataConflict
        with pytest.raises(DataConflict, match="user.update_time has NULLs"):
            api.upgrade(settings, UpgradeOptions())
        assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]
        with connect(settings) as db:
            db.execute("UPDATE user SET update_time = creation_time WHERE update_time IS NULL")
    _upgrade_and_check_clean(settings)
    assert rows(settings, "SELECT COUNT(*) FROM project_member") == [(9,)]


def test_strict_server_sql_mode_with_zero_dates(dbs):
    """MySQL 5.7/8-like global mode (NO_ZERO_DATE, ANSI_QUOTES, ONLY_FULL_GROUP_BY) with zero timestamps.

    The pre-flight stops on ANSI_QUOTES (Harbor 1.5.2 breaks with it); overridden by name here,
    the upgrade itself is unaffected by the server's mode.
    """
    settings = dbs.seeded()
    old = rows(settings, "SELECT @@GLOBAL.sql_mode")[0][0]
    dbs.server.admin("SET GLOBAL sql_mode = 'ONLY_FULL_GROUP_BY,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
                     "ERROR_FOR_DIVISION_BY_ZERO,ANSI_QUOTES,NO_ENGINE_SUBSTITUTION'")
    try:
        assert rows(settings, "SELECT COUNT(*) FROM user WHERE CAST(update_time AS CHAR) = '0000-00-00 00:00:00'") \
            >= [(0,)]
        from migrator.errors import PreflightFailed
        with pytest.raises(PreflightFailed, match="ANSI_QUOTES"):
            api.upgrade(settings, UpgradeOptions())
        api.upgrade(settings, UpgradeOptions(), skip_checks=("sql_mode",))
        with connect(settings) as db:
            assert api.schema_drift(db) == []
        assert rows(settings, "SELECT CAST(update_time AS CHAR) FROM user WHERE user_id = 4") == [("0000-00-00 00:00:00",)]
    finally:
        dbs.server.admin(f"SET GLOBAL sql_mode = '{old}'")


def test_server_that_requires_primary_keys(dbs):
    """innodb_force_primary_key (MariaDB) / sql_require_primary_key (MySQL): no statement leaves a table without one."""
    settings = dbs.seeded()
    dbs.server.admin("SET GLOBAL innodb_force_primary_key = ON")
    try:
        _upgrade_and_check_clean(settings)
    finally:
        dbs.server.admin("SET GLOBAL innodb_force_primary_key = OFF")


def test_other_database_name_charset_and_tcp_password(dbs):
    """Not called 'registry', reached over TCP with a password full of DSN-special characters.

    (A utf8mb4 database cannot hold Harbor's schema at all: replication_job.tags
    varchar(16384) exceeds utf8mb4's limit, in 0.5.0 as in a fresh 1.5.2.)
    """
    name = dbs.create("harbor_prod", charset="utf8")
    with connect(dbs.settings(name)) as db:
        from migrator.tools.seed import seed_050
        seed_050(db)
    dbs.server.create_user("hm_user", "p@ss:w/rd")
    tcp = dbs.server.settings(name, user="hm_user", password="p@ss:w/rd", tcp=True)
    _upgrade_and_check_clean(tcp)
    # new tables take the database's charset
    assert rows(tcp, "SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                     "AND TABLE_NAME = 'harbor_label'")[0][0].startswith("utf8")


def test_mariadb_copy_algorithm_like_mysql_56(dbs):
    """SET SESSION alter_algorithm='COPY' imitates servers that copy the table for every ALTER."""
    settings = dbs.seeded()
    _upgrade_and_check_clean_with(settings, UpgradeOptions(alter_algorithm="COPY"))


def _upgrade_and_check_clean_with(settings, options):
    api.upgrade(settings, options)
    with connect(settings) as db:
        assert api.schema_drift(db) == []


def test_access_log_copy_in_chunks_gives_the_same_rows(dbs):
    a = dbs.seeded()
    b = dbs.seeded()
    for s in (a, b):
        with connect(s) as db:
            from migrator.tools.seed import add_log_volume
            add_log_volume(db, 2500)
    api.upgrade(a, UpgradeOptions())
    api.upgrade(b, UpgradeOptions(copy_chunk_rows=1000))
    q = "SELECT log_id, username, project_id, repo_name, op_time FROM access_log ORDER BY log_id"
    assert rows(a, q) == rows(b, q)
    assert len(rows(a, q)) == 2507
