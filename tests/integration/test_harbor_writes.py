"""verify --snapshot after Harbor 1.5.2 has started: its own writes are recognised, nothing else is.

The database is upgraded on a real MariaDB, then given what Harbor writes at start
(harbor-facts §5.2, §6): the adminserver's configuration in ``properties`` (upserted
key by key, the secret keys in its ``<enc-v1>`` format), the ui's repository sync with
the registry catalog, and the admin's password and salt.
"""
from __future__ import annotations

import base64
import os

import pytest

from migrator import api
from migrator.errors import ExitCode
from migrator.mysql.connection import connect
from migrator.verdicts import Verdict
from migrator.verify.harbor_writes import ADMINSERVER_KEYS, ENCRYPTED_KEYS, REWRITTEN_AT_START
from tests.helpers import run_cli

pytestmark = pytest.mark.integration


def _encrypted(plain: str) -> str:
    """The adminserver's format (§5.3): a fresh IV each time, so the stored text changes at every write."""
    return "<enc-v1>" + base64.b64encode(os.urandom(16) + plain.encode()).decode()


def _value(key: str) -> str:
    if key in ENCRYPTED_KEYS:
        return _encrypted("secret")
    numbers = {"email_port": "25", "ldap_scope": "2", "ldap_timeout": "5", "token_expiration": "30",
               "mysql_port": "3306", "max_job_workers": "50", "cfg_expiration": "5", "clair_db_port": "5432",
               "ldap_group_search_scope": "2"}
    return numbers.get(key, "false" if key.startswith(("with_", "read_only")) else f"value of {key}")


def adminserver_start(db, keys=ADMINSERVER_KEYS, only_missing_or=REWRITTEN_AT_START) -> None:
    """What the adminserver stores at start: keys not stored yet, and the reloaded and secret ones again."""
    stored = {k for k, in db.query("SELECT k FROM properties")}
    for key in sorted(keys):
        if key not in stored or key in only_missing_or:
            db.execute("INSERT INTO properties (k, v) VALUES (%s, %s) ON DUPLICATE KEY UPDATE v = VALUES(v)",
                       (key, _value(key)))


def ui_start(db) -> None:
    """The ui's registry sync (one row of a deleted project's repository gone, a tagged repository of
    a live project added, its pull_count from access_log) and the admin's password (user 1 had no salt)."""
    db.execute("DELETE FROM repository WHERE name = 'old#4/legacy'")
    db.execute("INSERT INTO repository (name, project_id, description, pull_count, star_count) "
               "SELECT 'qa/tool', 5, '', COUNT(*), 0 FROM access_log WHERE operation = 'pull' AND repo_name = 'qa/tool'")
    db.execute("UPDATE user SET password = 'c0ffee', salt = 'fresh-salt', update_time = NOW() "
               "WHERE user_id = 1 AND (salt IS NULL OR salt = '')")


def _by_name(report):
    return {c.name: c for c in report.checks}


def test_harbors_own_writes_at_start_are_recognised(upgraded):
    dbs, settings, manifest = upgraded
    with connect(settings) as db:
        adminserver_start(db)
        ui_start(db)
    report = api.verify(settings, snapshot=str(manifest), only=("data",))
    checks = _by_name(report)
    assert report.ok, [c.line() for c in report.checks if c.status != Verdict.OK]
    props = checks["data.properties"]
    assert props.status is Verdict.OK and "57 now" in props.message
    assert any(d.startswith("properties: 57 new: written by Harbor 1.5.2's adminserver at start") for d in props.details)
    repos = checks["data.repositories"]
    assert repos.status is Verdict.WARN
    assert [d.split(":")[1].strip() for d in repos.details] == ["1 missing (repository_id)", "1 new (repository_id)"]
    assert all("syncs repository with the registry catalog" in d for d in repos.details)
    users = checks["data.users"]
    assert users.status is Verdict.OK and "admin's password and salt" in users.details[0]

    # A second start: the reloaded and the secret keys are written again (new IVs), still Harbor's own.
    with connect(settings) as db:
        adminserver_start(db)
    report = api.verify(settings, snapshot=str(manifest), only=("data",))
    assert report.ok, [c.line() for c in report.checks if c.status != Verdict.OK]
    code, out, err = run_cli(["verify", "--only", "data", "--snapshot", str(manifest), "--dsn",
                              f"mysql://root@localhost/{settings.database}?unix_socket={dbs.server.socket}"])
    assert code == 0, out + err
    assert "written by Harbor 1.5.2's adminserver at start" in out


def test_anything_else_that_changed_still_fails(upgraded):
    dbs, settings, manifest = upgraded
    with connect(settings) as db:
        adminserver_start(db)
        ui_start(db)
        db.execute("INSERT INTO properties (k, v) VALUES ('not_harbors', 'x')")        # a key Harbor never writes
        db.execute("UPDATE properties SET v = 'plain' WHERE k = 'email_password'")     # not in Harbor's format
        db.execute("UPDATE user SET deleted = 1 WHERE user_id = 7")                     # not Harbor's either
        db.execute("INSERT INTO repository (name, project_id) VALUES ('old#4/again', 4)")  # a deleted project's
        db.execute("UPDATE repository SET description = 'edited' WHERE name = 'library/busybox'")
    report = api.verify(settings, snapshot=str(manifest), only=("data",))
    checks = _by_name(report)
    assert not report.ok and report.exit_code() == ExitCode.VERIFY_FAILED
    props = checks["data.properties"]
    assert props.status is Verdict.FAIL
    assert "properties: 2 new: email_password, not_harbors" in props.details
    assert any("56 new: written by Harbor 1.5.2's adminserver" in d for d in props.details)   # still said
    users = checks["data.users"]
    assert users.status is Verdict.FAIL and "users: 1 changed: 7" in users.details
    assert any("admin's password and salt" in d for d in users.details)
    repos = checks["data.repositories"]
    assert repos.status is Verdict.FAIL
    assert "repositories: 1 changed: 1" in repos.details
    assert any(d.startswith("repositories: 1 new: ") for d in repos.details)   # the deleted project's row


def test_without_harbor_started_a_lost_repository_row_or_admin_change_fails(upgraded):
    dbs, settings, manifest = upgraded
    with connect(settings) as db:
        ui_start(db)              # the same rows, but the adminserver never ran: not Harbor's doing
    report = api.verify(settings, snapshot=str(manifest), only=("data",))
    checks = _by_name(report)
    assert checks["data.repositories"].status is Verdict.FAIL
    assert checks["data.users"].status is Verdict.FAIL and "users: 1 changed: 1" in checks["data.users"].details
