"""plan: read-only, the SQL script round trip, and every pre-flight check made to fail."""
from __future__ import annotations

import json
import subprocess

import pytest

from migrator import api
from migrator.verdicts import Verdict
from migrator.mysql.connection import connect
from migrator.errors import ExitCode
from migrator.chain.executor import UpgradeOptions
from migrator.schema.diff import compare
from migrator.schema.introspect import introspect
from migrator.snapshot.restore import restore_snapshot
from migrator.snapshot.take import take_snapshot
from tests.row_checksums import database_checksums
from tests.helpers import rows, run_cli

pytestmark = pytest.mark.integration
FIXED = 1700000000


def _check(report, name):
    return next(c for c in report.checks if c.name == name)


def _dsn(server, db):
    return f"mysql://root@localhost/{db}?unix_socket={server.socket}"


def test_plan_is_read_only_and_complete(dbs_off):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        before = database_checksums(db)
        schema_before = introspect(db)
    code, out, err = run_cli(["plan", "--json", "--dsn", _dsn(dbs_off.server, settings.database)])
    assert code == 0, err
    report = json.loads(out)
    assert [s["revision"] for s in report["steps"]] == ["1.2.0", "1.3.0", "1.4.0", "1.5.0"]
    copy = next(o for s in report["steps"] for o in s["operations"] if o["kind"] == "copy")
    assert copy["rows"] == 7 and copy["rewrites_table"] and any("INSERT INTO `access_log__hm_new`" in q
                                                                for q in copy["sql"])
    assert report["expected_downtime_seconds"] > 0 and {c["name"] for c in report["checks"]} >= {
        "connection", "privileges", "sql_mode", "other_clients", "data", "revision", "free_space"}
    with connect(settings) as db:
        assert database_checksums(db) == before
        assert compare(schema_before, introspect(db)) == []


def test_plan_as_a_select_only_account(dbs_off):
    """A server-enforced proof that planning writes nothing: it runs with SELECT alone."""
    settings = dbs_off.seeded()
    dbs_off.server.create_user("planner", "pw", grants="SELECT", on=f"`{settings.database}`.*")
    ro = dbs_off.server.settings(settings.database, user="planner", password="pw", tcp=True)
    report = api.plan(ro)
    assert _check(report, "privileges").status == Verdict.FAIL
    assert len(report.steps) == 4 and report.seconds > 0


def test_real_constraint_names_in_the_sql(dbs_off):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("ALTER TABLE project DROP FOREIGN KEY project_ibfk_1")
        db.execute("ALTER TABLE project ADD CONSTRAINT fk_owner_custom FOREIGN KEY (owner_id) REFERENCES user (user_id)")
    report = api.plan(settings, calibrate=False)
    sql = "\n".join(q for s in report.steps for o in s.ops for q in o.sql)
    assert "DROP FOREIGN KEY `fk_owner_custom`" in sql
    assert "ADD CONSTRAINT `project_ibfk_1`" in sql


def test_sql_script_round_trip(dbs_off, tmp_path):
    """plan --sql run by the mysql client on a copy gives the database upgrade gives."""
    settings = dbs_off.seeded()
    with connect(settings) as db:
        snap = take_snapshot(db, tmp_path)
    copy = dbs_off.server.settings(settings.database + "_sql")
    dbs_off.names.append(copy.database)
    restore_snapshot(snap, copy)
    code, script, err = run_cli(["plan", "--sql", "--dsn", _dsn(dbs_off.server, copy.database)])
    assert code == 0, err
    # each revision stamped as alembic's runtime stamps it: the 0.4.0 row updated, step by step
    assert script.count("UPDATE alembic_version") == 4 and script.count("INSERT INTO alembic_version") == 0
    subprocess.run(["mariadb", f"--socket={dbs_off.server.socket}", "-uroot", copy.database],
                   input=f"SET timestamp = {FIXED};\n" + script, text=True, check=True)
    api.upgrade(settings, UpgradeOptions(fixed_time=FIXED))
    with connect(settings) as a, connect(copy) as b:
        assert compare(introspect(a), introspect(b)) == []
        assert database_checksums(a) == database_checksums(b)


def test_privileges_check(dbs_off):
    settings = dbs_off.seeded()
    dbs_off.server.create_user("noalter", "pw", grants="SELECT, INSERT, UPDATE, DELETE, CREATE, DROP",
                               on=f"`{settings.database}`.*")
    s = dbs_off.server.settings(settings.database, user="noalter", password="pw", tcp=True)
    c = _check(api.plan(s, calibrate=False), "privileges")
    assert c.status == Verdict.FAIL and "ALTER" in c.message and "INDEX" in c.message and "GRANT" in c.message


def test_the_snapshot_needs_lock_tables_unless_there_is_none(dbs_off):
    settings = dbs_off.seeded()
    dbs_off.server.create_user("nolock", "pw", grants="SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX, "
                                                      "REFERENCES", on=f"`{settings.database}`.*")
    s = dbs_off.server.settings(settings.database, user="nolock", password="pw", tcp=True)
    c = _check(api.plan(s, calibrate=False), "privileges")
    assert c.status == Verdict.FAIL and "GRANT LOCK TABLES" in c.message and c.exit_code == ExitCode.PRIVILEGES
    c = _check(api.plan(s, calibrate=False, snapshot_dir=None), "privileges")
    assert c.status == Verdict.OK and "LOCK TABLES not needed" in c.message


@pytest.mark.parametrize("mode,status,text", [
    ("ANSI_QUOTES", Verdict.FAIL, "double-quoted"),
    ("ONLY_FULL_GROUP_BY", Verdict.FAIL, "1055"),
    ("STRICT_ALL_TABLES,NO_ZERO_DATE", Verdict.WARN, "zero dates"),
])
def test_sql_mode_check(dbs_off, mode, status, text):
    settings = dbs_off.seeded()
    old = rows(settings, "SELECT @@GLOBAL.sql_mode")[0][0]
    dbs_off.server.admin(f"SET GLOBAL sql_mode = '{mode}'")
    try:
        c = _check(api.plan(settings, calibrate=False), "sql_mode")
    finally:
        dbs_off.server.admin(f"SET GLOBAL sql_mode = '{old}'")
    assert c.status == status and text in c.message + " ".join(c.details)


def test_primary_key_requirement_is_reported(dbs_off):
    settings = dbs_off.seeded()
    dbs_off.server.admin("SET GLOBAL innodb_force_primary_key = ON")
    try:
        c = _check(api.plan(settings, calibrate=False), "primary_key_required")
    finally:
        dbs_off.server.admin("SET GLOBAL innodb_force_primary_key = OFF")
    assert c.status == Verdict.WARN and "alembic_version" in c.details


def test_charset_check(dbs_off):
    settings = dbs_off.seeded()
    dbs_off.server.admin(f"ALTER DATABASE `{settings.database}` CHARACTER SET latin1")
    c = _check(api.plan(settings, calibrate=False), "charset")
    assert c.status == Verdict.WARN and "latin1" in c.message


def test_row_format_check(dbs_off):
    settings = dbs_off.seeded()
    dbs_off.server.admin("SET GLOBAL innodb_default_row_format = 'compact'")
    try:
        c = _check(api.plan(settings, calibrate=False), "row_format")
    finally:
        dbs_off.server.admin("SET GLOBAL innodb_default_row_format = 'dynamic'")
    assert c.status == Verdict.FAIL and "DYNAMIC" in c.message


def test_storage_engine_check(dbs_off):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("ALTER TABLE properties ENGINE=MyISAM")
    c = _check(api.plan(settings, calibrate=False), "storage_engine")
    assert c.status == Verdict.FAIL and "properties: MyISAM" in c.details


def test_other_clients_check_names_them(dbs_off):
    settings = dbs_off.seeded()
    conn = dbs_off.server.root_connection(settings.database)
    try:
        c = _check(api.plan(settings, calibrate=False), "other_clients")
        assert c.status == Verdict.FAIL and c.exit_code == ExitCode.CLIENTS_CONNECTED and "root@" in c.details[0]
    finally:
        conn.close()
    assert _check(api.plan(settings, calibrate=False), "other_clients").status == Verdict.OK


def test_data_checks(dbs_off):
    settings = dbs_off.seeded()
    c = _check(api.plan(settings, calibrate=False), "data")
    assert c.status == Verdict.WARN and any("missing project" in d for d in c.details)
    with connect(settings) as db:
        db.execute("ALTER TABLE user MODIFY realname varchar(20) NULL")
        db.execute("UPDATE user SET realname = NULL WHERE user_id = 3")
    c = _check(api.plan(settings, calibrate=False), "data")
    assert c.status == Verdict.FAIL and any("user.realname has NULLs" in d for d in c.details)
    code, out, err = run_cli(["upgrade", "--yes", "--no-snapshot", "--dsn", _dsn(dbs_off.server, settings.database)])
    assert code == ExitCode.DATA_CONFLICT and "realname" in err
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]


@pytest.mark.parametrize("indexed", [True, False], ids=["index-scan", "plain-count"])
def test_access_log_counts(dbs_off, indexed):
    """The zero-date and orphan counts of access_log, by the index dives and without the indexes."""
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("SET SESSION foreign_key_checks = 0")
        db.execute("UPDATE access_log SET op_time = '0000-00-00 00:00:00', user_id = 99 WHERE log_id IN (2, 5)")
        if not indexed:
            db.execute("ALTER TABLE access_log DROP FOREIGN KEY access_log_ibfk_1, "
                       "DROP FOREIGN KEY access_log_ibfk_2")
            db.execute("ALTER TABLE access_log DROP INDEX pid_optime, DROP INDEX user_id")
        zeros = db.scalar("SELECT COUNT(*) FROM access_log WHERE op_time = '0000-00-00 00:00:00'")
        orphans = db.scalar("SELECT COUNT(*) FROM access_log a LEFT JOIN user u ON u.user_id = a.user_id "
                            "WHERE u.user_id IS NULL")
    assert zeros >= 2 and orphans >= 2
    report = api.plan(settings, calibrate=False)
    assert f"access_log.op_time: {zeros} zero date(s)" in _check(report, "zero_dates").data["columns"]
    assert any(d.startswith(f"{orphans} access_log row(s) of users that no longer exist")
               for d in _check(report, "data").details)


def test_revision_check(dbs_off):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("UPDATE alembic_version SET version_num = '1.4.0'")
    code, out, err = run_cli(["plan", "--dsn", _dsn(dbs_off.server, settings.database)])
    assert code == ExitCode.UNKNOWN_VERSION and "says 1.4.0" in err


def test_free_space_check(dbs_off, tiny_dir):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        from migrator.tools.seed import add_log_volume
        add_log_volume(db, 30000)
    c = _check(api.plan(settings, calibrate=False, snapshot_dir=str(tiny_dir)), "free_space")
    assert c.status == Verdict.FAIL and c.exit_code == ExitCode.NO_SPACE


def test_harbor_account_check(dbs_off):
    settings = dbs_off.seeded()
    dbs_off.server.admin("CREATE USER IF NOT EXISTS 'harbor_tls'@'%' IDENTIFIED BY 'pw' REQUIRE SSL")
    c = _check(api.plan(settings, calibrate=False, harbor_user="harbor_tls@%"), "harbor_account")
    assert c.status == Verdict.FAIL and "REQUIRE NONE" in c.message
    dbs_off.server.admin("CREATE USER IF NOT EXISTS 'harbor_ok'@'%' IDENTIFIED BY 'pw'")
    assert _check(api.plan(settings, calibrate=False, harbor_user="harbor_ok@%"), "harbor_account").status == Verdict.OK


def test_plan_exits_non_zero_on_a_failing_check(dbs_off):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("ALTER TABLE properties ENGINE=MyISAM")
    code, out, err = run_cli(["plan", "--dsn", _dsn(dbs_off.server, settings.database)])
    assert code == ExitCode.PREFLIGHT_FAILED and "[fail] storage_engine" in out and "--skip-check storage_engine" in err
    code, out, err = run_cli(["plan", "--skip-check", "storage_engine", "--dsn",
                              _dsn(dbs_off.server, settings.database)])
    assert code == 0 and "overridden" in out
