"""connect_pg, PgDatabase and LocalPostgres against a real PostgreSQL: errors and their exit
codes, md5 roles for Harbor 1.6.0, COPY, the server's time zone, teardown."""
from __future__ import annotations

import datetime
import os
import pathlib

import pytest

from migrator.errors import (AuthFailed, ConnectionFailed, DatabaseMissing, DataConflict, ExitCode,
                             ServerUnavailable)
from migrator.postgres.connection import connect_pg
from migrator.postgres.settings import PgSettings
from migrator.tools import local_postgres
from migrator.tools.local_postgres import RUN_AS, LocalPostgres, find_pg_bindir
from migrator.tools.local_server import free_port


@pytest.fixture
def harbor_db(local_pg, pg_dbs):
    """A database owned by an md5 login role, as Harbor 1.6.0 would use it."""
    local_pg.create_role("harbor_it", "s3cr'et\\pw", md5=True)
    return pg_dbs.create("owned", owner="harbor_it")


def _error(settings: PgSettings):
    with pytest.raises((AuthFailed, DatabaseMissing, ConnectionFailed)) as info:
        connect_pg(settings).close()
    assert "\n" not in info.value.message
    if settings.password:
        assert settings.password not in info.value.message
    return info.value


def test_a_role_logs_in_over_tcp_with_an_md5_password(local_pg, harbor_db):
    settings = PgSettings.from_dsn(local_pg.dsn(harbor_db, user="harbor_it", password="s3cr'et\\pw"))
    with connect_pg(settings) as db:
        assert db.scalar("SELECT current_user") == "harbor_it"
        assert db.scalar("SELECT current_database()") == harbor_db
        assert db.scalar("SHOW TimeZone") == "UTC"
    with connect_pg(local_pg.superuser_settings()) as su:
        assert su.scalar("SELECT rolpassword FROM pg_authid WHERE rolname = 'harbor_it'").startswith("md5")
        assert su.scalar("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                         (harbor_db,)) == "harbor_it"


def test_a_scram_role_when_asked(local_pg):
    local_pg.create_role("scram_it", "pw", md5=False)
    with connect_pg(local_pg.superuser_settings()) as su:
        assert su.scalar("SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_it'").startswith("SCRAM-SHA-256$")
    with connect_pg(local_pg.settings("postgres", user="scram_it", password="pw")) as db:
        assert db.scalar("SELECT current_user") == "scram_it"


def test_wrong_password_is_exit_4(local_pg, harbor_db):
    err = _error(local_pg.settings(harbor_db, user="harbor_it", password="wrong-one"))
    assert isinstance(err, AuthFailed) and err.exit_code == ExitCode.AUTH == 4
    assert "password authentication failed" in err.message


def test_unknown_user_is_exit_4(local_pg):
    err = _error(local_pg.settings("postgres", user="nobody_here", password="x"))
    assert err.exit_code == ExitCode.AUTH


def test_missing_database_is_exit_5(local_pg, harbor_db):
    err = _error(local_pg.settings("no_such_db", user="harbor_it", password="s3cr'et\\pw"))
    assert isinstance(err, DatabaseMissing) and err.exit_code == ExitCode.DATABASE_MISSING == 5
    assert "'no_such_db' does not exist" in err.message


def test_unreachable_port_is_exit_3():
    err = _error(PgSettings(host="127.0.0.1", port=free_port(), user="harbor", password="pw", connect_timeout=2))
    assert isinstance(err, ConnectionFailed) and err.exit_code == ExitCode.CONNECTION == 3
    assert "Connection refused" in err.message


def test_the_socket_directory_as_host(local_pg):
    with connect_pg(PgSettings(host=local_pg.socket_dir, port=local_pg.port, user="postgres",
                               database="postgres")) as db:
        assert db.scalar("SELECT inet_server_addr()") is None   # None: a Unix socket, not TCP
        assert db.server_version.startswith(f"{db.server_version_num // 10000}.")
        assert db.server_version_num >= 90600


def test_copy_in_keeps_every_value_as_given(pg_dbs):
    name = pg_dbs.create("copy")
    odd = ["o'brien", 'say "hi"', "back\\slash \\n", "two\nlines\ttab", "ünï €", "", None, "\\N"]
    when = datetime.datetime(2018, 3, 25, 2, 30, 0)   # a local time that does not exist in Europe (DST)
    with pg_dbs.connect(name) as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY, s text, ts timestamp, flag boolean)")
        with db.copy_in("t", ["id", "s", "ts", "flag"]) as copy:
            for i, s in enumerate(odd):
                copy.write_row((i, s, when, i % 2 == 0))
        rows = db.query("SELECT id, s, ts, flag FROM t ORDER BY id")
        assert [r[1] for r in rows] == odd
        assert {r[2] for r in rows} == {when}
        assert [r[3] for r in rows] == [i % 2 == 0 for i in range(len(odd))]
        with pytest.raises(DataConflict) as info:
            with db.copy_in("t", ["id", "s"]) as copy:
                copy.write_row((100, "new"))
                copy.write_row((0, "duplicate key"))
        assert info.value.exit_code == ExitCode.DATA_CONFLICT and "t_pkey" in info.value.message
        assert db.scalar("SELECT count(*) FROM t") == len(odd)   # the failed COPY left nothing


def test_a_transaction_commits_together_or_not_at_all(pg_dbs):
    with pg_dbs.connect(pg_dbs.create("tx")) as db:
        db.execute("CREATE TABLE t (id int PRIMARY KEY)")
        with db.transaction():
            db.execute("INSERT INTO t VALUES (1)")
            db.execute("INSERT INTO t VALUES (2)")
        with pytest.raises(DataConflict):
            with db.transaction():
                db.execute("INSERT INTO t VALUES (3)")
                db.execute("INSERT INTO t VALUES (1)")
        assert db.query("SELECT id FROM t ORDER BY id") == [(1,), (2,)]


def test_server_time_zone_is_configurable_and_timestamps_do_not_shift():
    if not find_pg_bindir():
        pytest.skip("no PostgreSQL server binaries: apt-get install postgresql")
    when = datetime.datetime(2018, 10, 28, 2, 30, 0)   # ambiguous in Europe/Berlin (DST ends)
    with LocalPostgres(timezone="Asia/Tokyo") as pg:
        pg.create_database("tz")
        with connect_pg(pg.superuser_settings("tz")) as db:
            assert db.scalar("SELECT reset_val FROM pg_settings WHERE name = 'TimeZone'") == "Asia/Tokyo"
            db.execute("CREATE TABLE t (ts timestamp)")
            with db.copy_in("t", ["ts"]) as copy:
                copy.write_row((when,))
            db.execute("SET TIME ZONE 'Europe/Berlin'")
            assert db.scalar("SELECT ts FROM t") == when
            assert db.scalar("SELECT ts::text FROM t") == "2018-10-28 02:30:00"


def test_runs_unprivileged_and_leaves_nothing_behind():
    if not find_pg_bindir():
        pytest.skip("no PostgreSQL server binaries: apt-get install postgresql")
    pg = LocalPostgres().start()
    pid, directory = pg.proc.pid, pg.dir
    status = pathlib.Path(f"/proc/{pid}/status").read_text()
    uid = int(next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1])
    if os.geteuid() == 0:
        import pwd
        assert uid == pwd.getpwnam(RUN_AS).pw_uid != 0
    else:
        assert uid == os.geteuid()
    pg.destroy()
    assert not pathlib.Path(f"/proc/{pid}").exists() or "zombie" in pathlib.Path(f"/proc/{pid}/status").read_text()
    assert not directory.exists()
    _error(PgSettings(port=pg.port, password="x", connect_timeout=2))


def test_no_binary_is_exit_24(monkeypatch):
    monkeypatch.setattr(local_postgres, "find_pg_bindir", lambda: None)
    with pytest.raises(ServerUnavailable) as info:
        LocalPostgres()
    assert info.value.exit_code == ExitCode.SERVER_UNAVAILABLE == 24
    assert "apt-get install postgresql" in info.value.message
