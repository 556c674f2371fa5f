"""The CLI end to end: one-line errors with their exit codes, masked passwords, the happy path."""
from __future__ import annotations

import json

import pytest

from migrator.errors import ExitCode
from migrator.tools.local_server import free_port
from tests.helpers import rows, run_cli

pytestmark = pytest.mark.integration
SECRET = "s3cr3t-Pa55"


@pytest.fixture
def tcp_db(dbs_off):
    settings = dbs_off.seeded()
    dbs_off.server.create_user("cliuser", SECRET)
    return dbs_off.server, settings.database


def _dsn(server, db, password=SECRET, user="cliuser"):
    return f"mysql://{user}:{password}@127.0.0.1:{server.port}/{db}"


def _assert_clean_error(code, out, err, expected: ExitCode, text: str):
    assert code == int(expected), (code, out, err)
    assert "Traceback" not in out + err
    assert SECRET not in out + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("harbor-migrate: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0] and text in errors[0], err


def test_status_and_upgrade_over_dsn(tcp_db):
    server, db = tcp_db
    code, out, err = run_cli(["status", "--dsn", _dsn(server, db)])
    assert code == 0 and "revision:  0.4.0" in out and "state:     clean" in out
    assert SECRET not in out + err and "cliuser:***@" in out
    code, out, err = run_cli(["upgrade", "--dsn", _dsn(server, db), "--to", "1.5.2", "--yes", "--no-snapshot"])
    assert code == 0, err
    assert "done in" in out and "no drift" in out
    assert "step 1.2.0" in err and "stamp 1.5.0" in err  # a line per step and operation on stderr
    assert SECRET not in out + err
    code, out, _ = run_cli(["upgrade", "--dsn", _dsn(server, db), "--yes"])
    assert code == 0 and "already at revision 1.5.0" in out
    code, out, _ = run_cli(["status", "--json", "--dsn", _dsn(server, db)])
    data = json.loads(out)
    assert data["revision"] == "1.5.0" and data["state"] == "clean" and SECRET not in out


def test_env_variables_and_password_file(tcp_db, tmp_path):
    server, db = tcp_db
    pw = tmp_path / "pw"
    pw.write_text(SECRET + "\n")
    env = {"HARBOR_MIGRATE_HOST": "127.0.0.1", "HARBOR_MIGRATE_PORT": str(server.port),
           "HARBOR_MIGRATE_USER": "cliuser", "HARBOR_MIGRATE_DATABASE": db, "HARBOR_MIGRATE_PASSWORD_FILE": str(pw)}
    code, out, err = run_cli(["status"], env=env)
    assert code == 0 and "revision:  0.4.0" in out, err
    env2 = {**env, "HARBOR_MIGRATE_PASSWORD": SECRET}
    del env2["HARBOR_MIGRATE_PASSWORD_FILE"]
    code, out, _ = run_cli(["status", "--json"], env=env2)
    assert code == 0 and json.loads(out)["declared_revision"] == "0.4.0"


def test_unix_socket_dsn(dbs_off):
    settings = dbs_off.seeded()
    code, out, err = run_cli(["status", "--dsn", f"mysql+pymysql://root@localhost/{settings.database}"
                                                 f"?unix_socket={dbs_off.server.socket}"])
    assert code == 0 and "0.4.0" in out, err


def test_upgrade_needs_confirmation_without_a_tty(tcp_db):
    server, db = tcp_db
    code, out, err = run_cli(["upgrade", "--dsn", _dsn(server, db), "--no-snapshot"])
    _assert_clean_error(code, out, err, ExitCode.ABORTED, "--yes")
    assert rows(server.settings(db), "SELECT version_num FROM alembic_version") == [("0.4.0",)]


def test_wrong_password(tcp_db):
    server, db = tcp_db
    code, out, err = run_cli(["status", "--dsn", _dsn(server, db, password="nope")])
    _assert_clean_error(code, out, err, ExitCode.AUTH, "access denied")


def test_unreachable_server():
    code, out, err = run_cli(["status", "--dsn", f"mysql://u:{SECRET}@127.0.0.1:{free_port()}/registry"])
    _assert_clean_error(code, out, err, ExitCode.CONNECTION, "cannot reach")


def test_missing_database(tcp_db):
    server, _ = tcp_db
    code, out, err = run_cli(["status", "--dsn", _dsn(server, "no_such_db")])
    _assert_clean_error(code, out, err, ExitCode.DATABASE_MISSING, "does not exist")


def test_not_a_harbor_database(dbs_off):
    name = dbs_off.create("other")
    code, out, err = run_cli(["upgrade", "--yes", "--dsn", f"mysql://root@localhost/{name}?unix_socket="
                                                            f"{dbs_off.server.socket}"])
    _assert_clean_error(code, out, err, ExitCode.NOT_HARBOR, "empty")


def test_unknown_target_and_revision(tcp_db):
    server, db = tcp_db
    # A --to naming no release is a bad flag value (exit 2), not a state of the database (7).
    for target in ("2.0.0", "9.9.9"):
        code, out, err = run_cli(["upgrade", "--yes", "--to", target, "--dsn", _dsn(server, db)])
        _assert_clean_error(code, out, err, ExitCode.USAGE, "unknown target")
        code, out, err = run_cli(["plan", "--to", target, "--dsn", _dsn(server, db)])
        _assert_clean_error(code, out, err, ExitCode.USAGE, "unknown target")
    with server.root_connection(db) as conn:
        conn.cursor().execute("UPDATE alembic_version SET version_num = '1.7.0'")
    code, out, err = run_cli(["upgrade", "--yes", "--dsn", _dsn(server, db)])
    _assert_clean_error(code, out, err, ExitCode.UNKNOWN_VERSION, "newer than 1.5.0")


def test_missing_privileges_changes_nothing(dbs_off):
    settings = dbs_off.seeded()
    db = settings.database
    dbs_off.server.create_user("readonly", SECRET, grants="SELECT", on=f"`{db}`.*")
    code, out, err = run_cli(["upgrade", "--yes", "--no-snapshot", "--dsn",
                              f"mysql://readonly:{SECRET}@127.0.0.1:{dbs_off.server.port}/{db}"])
    _assert_clean_error(code, out, err, ExitCode.PRIVILEGES, "GRANT")
    assert "ALTER" in err and "INDEX" in err
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]


def test_bad_dsn_is_a_usage_error():
    # (postgresql:// is no longer an example: status reads a PostgreSQL 1.6.0 target through --dsn too)
    code, out, err = run_cli(["status", "--dsn", f"oracle://u:{SECRET}@h/db"])
    _assert_clean_error(code, out, err, ExitCode.USAGE, "unsupported DSN scheme")
    code, out, err = run_cli(["status", "--target-dsn", f"mysql://u:{SECRET}@h/db"])
    _assert_clean_error(code, out, err, ExitCode.USAGE, "unsupported DSN scheme")


def test_harbor_still_connected(tcp_db):
    server, db = tcp_db
    conn = server.root_connection(db)  # a "Harbor" holding a connection to the database
    try:
        code, out, err = run_cli(["upgrade", "--yes", "--no-snapshot", "--dsn", _dsn(server, db)])
        _assert_clean_error(code, out, err, ExitCode.CLIENTS_CONNECTED, "stop Harbor")
        code, out, err = run_cli(["upgrade", "--yes", "--no-snapshot", "--force", "--dsn", _dsn(server, db)])
        assert code == 0, err
    finally:
        conn.close()
