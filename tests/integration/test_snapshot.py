"""snapshot / snapshot verify / restore against a real MariaDB, and their bad inputs."""
from __future__ import annotations

import gzip
import json
import os
import stat
import subprocess

import pytest

from migrator import api
from migrator.db import connect
from migrator.errors import ExitCode, NoSpace, SnapshotInvalid, TargetNotEmpty
from migrator.executor import UpgradeOptions
from migrator.snapshot import database_checksums, restore_snapshot, snapshot_paths, take_snapshot, verify_snapshot
from tests.helpers import rows, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def snap(dbs_off, tmp_path):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    return settings, manifest


def test_files_are_private_and_manifest_complete(snap):
    settings, manifest = snap
    dump, man = snapshot_paths(manifest)
    for p in (dump, man):
        assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    data = json.loads(man.read_text())
    assert data["revision"] == "0.4.0" and data["source"]["server"].startswith("MariaDB")
    assert "explicit_defaults_for_timestamp" in data["source"] and data["source"]["sql_mode"] is not None
    tables = {t["name"]: t for t in data["tables"]}
    assert tables["access_log"]["rows"] == 7 and tables["user"]["rows"] == 8
    assert "CREATE TABLE `access_log`" in tables["access_log"]["ddl"]
    with connect(settings) as db:
        assert {n: (t["rows"], t["sha256"]) for n, t in tables.items()} == database_checksums(db)


def test_restore_of_pre_upgrade_snapshot_gives_back_the_same_database(snap, dbs_off):
    settings, manifest = snap
    with connect(settings) as db:
        before = database_checksums(db)
        schema_before = [r for r in db.query("SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, "
                                             "EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                                             "ORDER BY TABLE_NAME, ORDINAL_POSITION")]
    api.upgrade(settings, UpgradeOptions())
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("1.5.0",)]
    with pytest.raises(TargetNotEmpty):
        restore_snapshot(manifest, settings)
    restore_snapshot(manifest, settings, force=True)
    with connect(settings) as db:
        assert database_checksums(db) == before
        assert db.query("SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA FROM "
                        "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                        "ORDER BY TABLE_NAME, ORDINAL_POSITION") == schema_before
    assert api.status(settings).state == "clean"


def test_restore_into_another_database_via_cli(snap, dbs_off):
    settings, manifest = snap
    target = f"{settings.database}_copy"
    dbs_off.names.append(target)
    code, out, err = run_cli(["restore", str(manifest), "--dsn",
                              f"mysql://root@localhost/{target}?unix_socket={dbs_off.server.socket}"])
    assert code == 0, err
    assert "checksums match" in out
    with connect(settings) as a, connect(dbs_off.settings(target)) as b:
        assert database_checksums(a) == database_checksums(b)
    code, out, err = run_cli(["restore", str(manifest), "--dsn",
                              f"mysql://root@localhost/{target}?unix_socket={dbs_off.server.socket}"])
    assert code == ExitCode.TARGET_NOT_EMPTY and "--force" in err


def test_dump_loads_with_the_mysql_client_too(snap, dbs_off):
    settings, manifest = snap
    dump, _ = snapshot_paths(manifest)
    target = dbs_off.create("viaclient")
    sql = gzip.decompress(dump.read_bytes())
    subprocess.run(["mariadb", f"--socket={dbs_off.server.socket}", "-uroot", target], input=sql, check=True)
    with connect(settings) as a, connect(dbs_off.settings(target)) as b:
        assert database_checksums(a) == database_checksums(b)


def test_verify_detects_corruption_and_truncation(snap):
    settings, manifest = snap
    assert verify_snapshot(manifest)["revision"] == "0.4.0"
    dump, _ = snapshot_paths(manifest)
    original = dump.read_bytes()
    dump.write_bytes(original[: len(original) // 2])
    with pytest.raises(SnapshotInvalid, match="does not match its manifest"):
        verify_snapshot(manifest)
    code, _, err = run_cli(["snapshot", "verify", str(dump)])
    assert code == ExitCode.SNAPSHOT_INVALID and "Traceback" not in err


def test_verify_catches_rows_that_differ_from_manifest(snap):
    """A dump whose hash was "fixed up" after an edit is still caught by the row checksums."""
    settings, manifest = snap
    dump, man = snapshot_paths(manifest)
    text = gzip.decompress(dump.read_bytes()).replace(b"'alice'", b"'mallory'")
    dump.write_bytes(gzip.compress(text))
    data = json.loads(man.read_text())
    import hashlib
    data["dump"]["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    man.write_text(json.dumps(data))
    with pytest.raises(SnapshotInvalid, match="user"):
        verify_snapshot(manifest)


def test_missing_or_foreign_manifest(tmp_path):
    with pytest.raises(SnapshotInvalid, match="no manifest"):
        verify_snapshot(tmp_path / "nothing.sql.gz")
    bad = tmp_path / "x.manifest.json"
    bad.write_text("{not json")
    with pytest.raises(SnapshotInvalid, match="corrupt"):
        verify_snapshot(bad)


def test_no_space_left(dbs_off, tiny_dir):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        from migrator.seed import add_log_volume
        add_log_volume(db, 20000)
    with connect(settings) as db:
        with pytest.raises(NoSpace, match="no space left|[KM]iB free"):
            take_snapshot(db, tiny_dir)
    assert list(tiny_dir.iterdir()) == []  # partial files removed


def test_upgrade_snapshots_first_and_says_where(dbs_off, tmp_path):
    settings = dbs_off.seeded()
    code, out, err = run_cli(["upgrade", "--yes", "--snapshot-dir", str(tmp_path), "--dsn",
                              f"mysql://root@localhost/{settings.database}?unix_socket={dbs_off.server.socket}"])
    assert code == 0, err
    manifests = list(tmp_path.glob("*.manifest.json"))
    assert len(manifests) == 1 and str(manifests[0]) in err
    assert json.loads(manifests[0].read_text())["revision"] == "0.4.0"


def test_restore_on_a_server_that_requires_primary_keys(snap, dbs_off):
    settings, manifest = snap
    dbs_off.server.admin("SET GLOBAL innodb_force_primary_key = ON")
    try:
        with pytest.raises(Exception) as exc:
            restore_snapshot(manifest, settings, force=True)
        assert exc.value.exit_code == ExitCode.PREFLIGHT_FAILED and "innodb_force_primary_key" in exc.value.message
        assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]  # nothing dropped
    finally:
        dbs_off.server.admin("SET GLOBAL innodb_force_primary_key = OFF")
    restore_snapshot(manifest, settings, force=True)
