"""snapshot / snapshot verify / restore against a real MariaDB, and their bad inputs."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import stat
import subprocess
import threading

import pytest
import zstandard

from migrator import api
from migrator.mysql import clients as dumpclient
from migrator.mysql.connection import connect
from migrator.errors import (ClientsConnected, ExitCode, MissingPrivileges, NoSpace, ServerUnavailable, SnapshotInvalid,
                             TargetNotEmpty)
from migrator.chain.executor import UpgradeOptions
from migrator.archive.frames import dump_frames, verify_snapshot
from migrator.archive.manifest import Manifest, snapshot_paths
from migrator.schema.projections import entity_fingerprints
from migrator.snapshot.digests import live_digests
from migrator.snapshot.restore import restore_snapshot
from migrator.snapshot.take import take_snapshot
from tests.helpers import rows, run_cli
from tests.row_checksums import database_checksums

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
    assert data["dump"]["client"] in ("mariadb-dump", "mysqldump") and data["triggers"] == 0
    assert {n: (t["rows"], t["sha256"]) for n, t in tables.items()} == live_digests(settings, list(tables))
    with connect(settings) as db:  # counts from the dump's text against the server's own count
        assert {n: t["rows"] for n, t in tables.items()} == {n: db.scalar(f"SELECT COUNT(*) FROM `{n}`")
                                                              for n in tables}
    loaded = Manifest.load(man)  # typed, and written back byte for byte
    assert loaded.text() == man.read_text() and loaded.table("user").rows == 8 and loaded.rows == data_rows(data)


def data_rows(data: dict) -> int:
    return sum(t["rows"] for t in data["tables"])


def test_restore_of_pre_upgrade_snapshot_gives_back_the_same_database(snap, dbs_off):
    settings, manifest = snap
    with connect(settings) as db:
        before = database_checksums(db)
        ddl_before = {t: db.query(f"SHOW CREATE TABLE `{t}`")[0][1] for t in db.table_names()}
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
        # indexes and foreign keys were added after the rows: the definitions are the same anyway
        assert {t: db.query(f"SHOW CREATE TABLE `{t}`")[0][1] for t in db.table_names()} == ddl_before
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


def test_a_load_broken_off_in_a_deadlock_is_dropped_and_run_again(snap, dbs_off, monkeypatch):
    """Seen once in CI: the server stopped one of the two loading sessions with ERROR 1213. The
    first load here really runs, then fails like that: its tables are dropped, the load runs
    again in one session, and the copy is exact; a deadlock on every attempt is the error it was."""
    import migrator.snapshot.restore as restore_module

    settings, manifest = snap
    real_load = restore_module._load
    calls: list[int] = []
    deadlocks = {"left": 1}

    def load_then_deadlock(*args):
        calls.append(args[3])  # sessions
        result = real_load(*args)
        if deadlocks["left"]:
            deadlocks["left"] -= 1
            raise SnapshotInvalid("mariadb (loading the snapshot) failed: ERROR 1213 (40001) at line 38: Deadlock "
                                  "found when trying to get lock; try restarting transaction")
        return result

    monkeypatch.setattr(restore_module, "_load", load_then_deadlock)
    said: list[str] = []
    target = dbs_off.create("deadlocked")
    restore_snapshot(manifest, dbs_off.settings(target), progress=said.append)
    assert calls == [restore_module.LOAD_SESSIONS, 1] and any("deadlock (attempt 1 of 3)" in line for line in said)
    with connect(settings) as a, connect(dbs_off.settings(target)) as b:
        assert database_checksums(a) == database_checksums(b)
    calls.clear()
    deadlocks["left"] = restore_module.LOAD_ATTEMPTS
    with pytest.raises(SnapshotInvalid, match="ERROR 1213"):
        restore_snapshot(manifest, dbs_off.settings(target), force=True)
    assert len(calls) == restore_module.LOAD_ATTEMPTS


def test_dump_loads_with_the_mysql_client_too(snap, dbs_off):
    settings, manifest = snap
    dump, _ = snapshot_paths(manifest)
    target = dbs_off.create("viaclient")
    sql = zstandard.ZstdDecompressor().decompressobj().decompress(dump.read_bytes())
    subprocess.run(["mariadb", f"--socket={dbs_off.server.socket}", "-uroot", target], input=sql, check=True)
    with connect(settings) as a, connect(dbs_off.settings(target)) as b:
        assert database_checksums(a) == database_checksums(b)


def test_verify_detects_corruption_and_truncation(snap):
    settings, manifest = snap
    assert verify_snapshot(manifest).revision == "0.4.0"
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
    text = zstandard.ZstdDecompressor().decompressobj().decompress(dump.read_bytes())
    assert b"'alice'" in text
    dump.write_bytes(zstandard.ZstdCompressor().compress(text.replace(b"'alice'", b"'mallory'")))
    data = json.loads(man.read_text())
    data["dump"]["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    man.write_text(json.dumps(data))
    with pytest.raises(SnapshotInvalid, match="user"):
        verify_snapshot(manifest)


def test_missing_or_foreign_manifest(tmp_path):
    with pytest.raises(SnapshotInvalid, match="no manifest"):
        verify_snapshot(tmp_path / "nothing.sql.zst")
    bad = tmp_path / "x.manifest.json"
    bad.write_text("{not json")
    with pytest.raises(SnapshotInvalid, match="corrupt"):
        verify_snapshot(bad)
    bad.write_text(json.dumps({"format": "harbor-migrate-snapshot/1"}))
    with pytest.raises(SnapshotInvalid, match="older format.*zcat"):
        verify_snapshot(bad)


def test_no_space_left(dbs_off, tiny_dir):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        from migrator.tools.seed import add_log_volume
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


def test_restore_with_triggers_keeps_the_dump_order(dbs_off, tmp_path):
    """A trigger must not fire on rows being restored: such snapshots load in one session, in dump order."""
    settings = dbs_off.seeded()
    with connect(settings) as db:
        db.execute("CREATE TRIGGER mark_pull BEFORE INSERT ON access_log FOR EACH ROW SET NEW.operation = 'marked'")
        before = database_checksums(db)
        manifest = take_snapshot(db, tmp_path)
    assert json.loads(manifest.read_text())["triggers"] == 1
    target = dbs_off.create("trig")
    restore_snapshot(manifest, dbs_off.settings(target))
    with connect(dbs_off.settings(target)) as db:
        assert database_checksums(db) == before
        assert db.scalar("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()") == 1


@pytest.mark.parametrize("in_ranges", [False, True], ids=["one-piece", "key-ranges"])
def test_writes_during_the_snapshot_cannot_split_it(dbs_off, tmp_path, monkeypatch, in_ranges):
    """The manifest's projections and every piece of the dump come from one point in time although
    Harbor keeps writing: restored, the copy has exactly the projections the manifest recorded."""
    if in_ranges:
        from migrator.snapshot import pieces
        monkeypatch.setattr(pieces, "SPLIT_BYTES", 1)  # access_log, user, project … in two ranges
    settings = dbs_off.seeded()
    with connect(settings) as db:
        from migrator.tools.seed import add_log_volume
        add_log_volume(db, 30000)
    stop = threading.Event()
    written = []

    with connect(settings) as db:
        low, high = db.query("SELECT MIN(user_id), MAX(user_id) FROM user")[0]
        db.execute(f"UPDATE user SET realname = 'token' WHERE user_id = {low}")

    def harbor():
        """Moves a token between the first and the last user in one transaction (the two key
        ranges when user is dumped in two): every point in time has exactly one."""
        with connect(settings) as w:
            while not stop.is_set():
                w.execute("INSERT INTO access_log (user_id, project_id, repo_name, repo_tag, operation) "
                          "VALUES (1, 1, 'library/busy', 'latest', 'push')")
                give, take = (low, high) if len(written) % 2 else (high, low)
                w.execute("START TRANSACTION")
                w.execute(f"UPDATE user SET realname = 'token' WHERE user_id = {give}")
                w.execute(f"UPDATE user SET realname = 'none' WHERE user_id = {take}")
                w.execute("COMMIT")
                written.append(1)

    writer = threading.Thread(target=harbor)
    writer.start()
    try:
        with connect(settings) as db:
            manifest = take_snapshot(db, tmp_path)
    finally:
        stop.set()
        writer.join()
    assert written, "the writer never ran"
    assert any(p["where"] for p in json.loads(manifest.read_text())["pieces"]) == in_ranges
    target = dbs_off.create("busy")
    restore_snapshot(manifest, dbs_off.settings(target))  # checks counts and row digests itself
    with connect(dbs_off.settings(target)) as db:
        assert entity_fingerprints(db, "0.4.0") == json.loads(manifest.read_text())["entities"]
        assert db.scalar("SELECT COUNT(*) FROM user WHERE realname = 'token'") == 1


def test_snapshot_needs_lock_tables(dbs_off, tmp_path):
    settings = dbs_off.seeded()
    dbs_off.server.create_user("reader", "s3cret", grants="SELECT", on=f"`{settings.database}`.*")
    reader = dataclasses.replace(settings, user="reader", password="s3cret")
    with connect(reader) as db, pytest.raises(MissingPrivileges, match="LOCK TABLES|denied"):
        take_snapshot(db, tmp_path)
    assert list(tmp_path.iterdir()) == []
    code, _, err = run_cli(["snapshot", "--dir", str(tmp_path), "--dsn",
                            f"mysql://reader:s3cret@localhost/{settings.database}?unix_socket={dbs_off.server.socket}"])
    assert code == ExitCode.PRIVILEGES and "s3cret" not in err and "Traceback" not in err


def test_no_dump_client_is_a_clear_error(dbs_off, tmp_path, monkeypatch):
    settings = dbs_off.seeded()
    monkeypatch.setattr(dumpclient, "find_binary", lambda names: None)
    dumpclient._client.cache_clear()
    try:
        with connect(settings) as db, pytest.raises(ServerUnavailable, match="mariadb-dump or mysqldump not found"):
            take_snapshot(db, tmp_path)
    finally:
        dumpclient._client.cache_clear()
    assert list(tmp_path.iterdir()) == []


def test_restore_without_a_client_drops_nothing(snap, monkeypatch):
    settings, manifest = snap
    monkeypatch.setattr(dumpclient, "find_binary", lambda names: None)
    dumpclient._client.cache_clear()
    try:
        with pytest.raises(ServerUnavailable, match="not found"):
            restore_snapshot(manifest, settings, force=True)
    finally:
        dumpclient._client.cache_clear()
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]


def test_the_password_reaches_the_clients_only_through_a_private_file(dbs_off, tmp_path, monkeypatch):
    """Clients get the connection in a 0600 option file (never on the command line, which ps shows),
    removed afterwards; quotes and backslashes in the password survive."""
    settings = dbs_off.seeded()
    password = 'p"w\\d \'x'
    target = dbs_off.create("pw")
    with connect(dbs_off.settings(settings.database)) as root:
        root.execute("CREATE USER IF NOT EXISTS 'owner'@'localhost' IDENTIFIED BY %s", (password,))
        for name in (settings.database, target):
            root.execute(f"GRANT ALL ON `{name}`.* TO 'owner'@'localhost'")
    owner = dataclasses.replace(settings, user="owner", password=password)
    seen = []
    real_popen = subprocess.Popen

    def spy(args, **kwargs):
        cnf = next((a.split("=", 1)[1] for a in args if a.startswith("--defaults-file=")), None)
        if cnf:  # (not the --version probe)
            seen.append((list(args), stat.S_IMODE(os.stat(cnf).st_mode), cnf))
        return real_popen(args, **kwargs)

    monkeypatch.setattr(dumpclient.subprocess, "Popen", spy)
    with connect(owner) as db:
        manifest = take_snapshot(db, tmp_path)
    restore_snapshot(manifest, owner.with_database(target))
    assert seen and all(mode == 0o600 and not os.path.exists(cnf) for _, mode, cnf in seen)
    assert not any(password in " ".join(args) for args, _, _ in seen)


def test_big_tables_are_dumped_in_two_key_ranges_side_by_side(dbs_off, tmp_path, monkeypatch):
    """Above SPLIT_BYTES a table with an integer key is dumped by two clients at once, each range one
    zstd frame with its own digest; verify, restore and the plain mysql client all handle that file."""
    from migrator.snapshot import pieces

    settings = dbs_off.seeded()
    with connect(settings) as db:
        from migrator.tools.seed import add_log_volume
        add_log_volume(db, 5000)
        before = database_checksums(db)
    monkeypatch.setattr(pieces, "SPLIT_BYTES", 1)  # every table with rows and an integer key
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    data = json.loads(manifest.read_text())
    ranges = [p for p in data["pieces"] if p["where"]]
    assert {p["table"] for p in ranges} >= {"access_log", "user", "project"}
    log = [p for p in ranges if p["table"] == "access_log"]
    assert [p["where"].split()[1] for p in log] == ["<=", ">"] and sum(p["rows"] for p in log) == 5007
    assert {t["name"]: t["rows"] for t in data["tables"]}["access_log"] == 5007
    verify_snapshot(manifest)
    target = dbs_off.create("ranges")
    restore_snapshot(manifest, dbs_off.settings(target))
    with connect(dbs_off.settings(target)) as db:
        assert database_checksums(db) == before
    viaclient = dbs_off.create("ranges_client")
    with snapshot_paths(manifest)[0].open("rb") as fh:  # what `zstd -dc FILE` gives: every frame
        sql = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True).read()
    subprocess.run(["mariadb", f"--socket={dbs_off.server.socket}", "-uroot", viaclient], input=sql, check=True)
    with connect(dbs_off.settings(viaclient)) as db:
        assert database_checksums(db) == before
    # a range whose rows were changed (and the file hash fixed up) is named by its range
    dump, man = snapshot_paths(manifest)
    frames = [zstandard.ZstdDecompressor().decompressobj()]
    raw, texts = dump.read_bytes(), []
    while raw:
        texts.append(frames[-1].decompress(raw))
        raw = frames[-1].unused_data
        frames.append(zstandard.ZstdDecompressor().decompressobj())
    second = log[1]["frame"]
    assert b"INSERT INTO `access_log`" in texts[second]
    texts[second] = texts[second].replace(b"'push'", b"'pull'", 1)
    dump.write_bytes(b"".join(zstandard.ZstdCompressor().compress(t) for t in texts))
    data["dump"]["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    man.write_text(json.dumps(data))
    with pytest.raises(SnapshotInvalid, match="access_log where `log_id` > "):
        verify_snapshot(manifest)


def _writeback_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "snapshot-writeback"]


def test_the_snapshot_file_is_written_out_as_it_grows_and_stays_whole(dbs_off, tmp_path, monkeypatch):
    """Every WRITEBACK_BYTES of the file the kernel is asked to write it out, in order, the
    appended pieces included, from a thread that is gone when the snapshot returns; the file
    is the same as ever: its hash, every piece's rows, and a restore equal to the source."""
    from migrator.snapshot import files, pieces
    from migrator.tools.seed import add_log_volume

    settings = dbs_off.seeded()
    with connect(settings) as db:
        add_log_volume(db, 20000)
        before = database_checksums(db)
    asked: list[tuple[int, int]] = []
    real = files.start_writeback

    def recording(fd: int, offset: int, length: int) -> bool:
        asked.append((offset, length))
        return real(fd, offset, length)

    monkeypatch.setattr(files, "WRITEBACK_BYTES", 4096)
    monkeypatch.setattr(pieces, "SPLIT_BYTES", 1)  # pieces appended after the first: written out too
    monkeypatch.setattr(files, "start_writeback", recording)
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    assert _writeback_threads() == []
    size = snapshot_paths(manifest)[0].stat().st_size
    assert asked[0][0] == 0 and all(o + n == next_o for (o, n), (next_o, _) in zip(asked, asked[1:]))
    asked_up_to = asked[-1][0] + asked[-1][1]
    assert size - (1 << 20) - 4096 <= asked_up_to <= size  # all but the last block (appended 1 MiB at a time)
    verify_snapshot(manifest)
    target = dbs_off.create("written_out")
    restore_snapshot(manifest, dbs_off.settings(target))
    with connect(dbs_off.settings(target)) as db:
        assert database_checksums(db) == before


def test_truncated_between_frames_is_caught_even_with_a_fixed_up_hash(snap):
    settings, manifest = snap
    dump, man = snapshot_paths(manifest)
    data = json.loads(man.read_text())
    dump.write_bytes(dump.read_bytes()[:-7])
    data["dump"]["sha256"] = hashlib.sha256(dump.read_bytes()).hexdigest()
    man.write_text(json.dumps(data))
    with pytest.raises(SnapshotInvalid, match="truncated"):
        verify_snapshot(manifest)


def test_each_piece_is_dumped_in_the_character_set_that_keeps_its_text_exact(dbs_off, tmp_path, monkeypatch):
    """UTF-8-only tables are dumped with --default-character-set=binary (the same bytes, escaped
    faster), a latin1 or binary table in utf8mb4 with --hex-blob; restore and the plain client
    switch with each piece, and every table comes back byte for byte."""
    from migrator.snapshot import pieces
    from migrator.tools.seed import add_log_volume

    settings = dbs_off.seeded()
    with connect(settings) as db:
        add_log_volume(db, 3000)
        db.execute("CREATE TABLE legacy_notes (id INT PRIMARY KEY, note VARCHAR(40) CHARACTER SET latin1) "
                   "DEFAULT CHARSET=latin1")
        db.execute("INSERT INTO legacy_notes VALUES (1, 'café'), (2, 'naïve'), (3, NULL)")
        db.execute("CREATE TABLE blobs (id INT PRIMARY KEY, data VARBINARY(16))")
        db.execute("INSERT INTO blobs VALUES (1, 0x00FF0A27), (2, 0x5C)")
        before = database_checksums(db)
    monkeypatch.setattr(pieces, "SPLIT_BYTES", 1)  # each table with rows in ranges: a piece each
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    pieces = json.loads(manifest.read_text())["pieces"]
    charset = {p["table"]: p["charset"] for p in pieces if p["where"]}
    assert charset["access_log"] == "binary" and charset["user"] == "binary"
    assert charset["legacy_notes"] == "utf8mb4" and charset["blobs"] == "utf8mb4"
    texts: dict[int, bytes] = {}
    for frame, block in dump_frames(snapshot_paths(manifest)[0]):
        texts[frame] = texts.get(frame, b"") + block
    frame = {p["table"]: p["frame"] for p in pieces if p["where"] and "<=" in p["where"]}
    assert b"SET NAMES binary" in texts[frame["access_log"]] and "ü-tag".encode() in texts[frame["access_log"]]
    assert b"SET NAMES utf8mb4" in texts[frame["legacy_notes"]] and "café".encode() in texts[frame["legacy_notes"]]
    assert b"0x00FF0A27" in texts[frame["blobs"]]
    verify_snapshot(manifest)
    target = dbs_off.create("charsets")
    restore_snapshot(manifest, dbs_off.settings(target))
    with connect(dbs_off.settings(target)) as db:
        assert database_checksums(db) == before
        assert db.query("SELECT note FROM legacy_notes ORDER BY id")[:2] == [("café",), ("naïve",)]
    viaclient = dbs_off.create("charsets_client")
    subprocess.run(["mariadb", f"--socket={dbs_off.server.socket}", "-uroot", viaclient],
                   input=b"".join(texts[n] for n in sorted(texts)), check=True)
    with connect(dbs_off.settings(viaclient)) as db:
        assert database_checksums(db) == before


def test_ddl_waits_for_the_snapshot_instead_of_changing_a_table_under_it(dbs_off, tmp_path, monkeypatch):
    """Once writers may go on, our snapshot transaction still holds every table's metadata lock:
    an ALTER from another client waits (here: times out) until the snapshot is done."""
    from migrator.snapshot import barrier
    from migrator.errors import MigratorError

    settings = dbs_off.seeded()
    outcome = []
    real_release = barrier.WriteBarrier.release

    def release(self):
        held = self.held
        real_release(self)
        if held:  # the first release: the barrier is gone, the dumps are running
            with connect(settings) as other:
                other.execute("SET SESSION lock_wait_timeout = 1")
                try:
                    other.execute("ALTER TABLE role ADD COLUMN extra INT")
                    outcome.append("altered")
                except MigratorError as exc:
                    outcome.append(exc.message)

    monkeypatch.setattr(barrier.WriteBarrier, "release", release)
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    assert len(outcome) == 1 and "Lock wait timeout" in outcome[0]
    verify_snapshot(manifest)
    with connect(settings) as db:  # and after the snapshot, DDL goes through
        db.execute("ALTER TABLE role ADD COLUMN extra INT")


def test_ddl_that_the_dump_would_wait_for_stops_the_snapshot_instead_of_hanging(dbs_off, tmp_path, monkeypatch):
    """An ALTER waits for our snapshot's metadata lock on `user`; the dump client reaching `user`
    (the last table) then waits behind the ALTER, and the snapshot for the client: nobody would
    move until the ALTER's lock_wait_timeout. The snapshot sees it, stops with an error naming
    the ALTER, and the ALTER then goes through."""
    import time

    from migrator.snapshot import barrier, files, pieces
    from migrator.mysql.dumptext import TableScan
    from migrator.tools.seed import add_log_volume

    settings = dbs_off.seeded()
    with connect(settings) as db:
        add_log_volume(db, 40000)  # a few MB before `user`: the client is still on its way there
    monkeypatch.setattr(barrier, "MDL_STALL_SECONDS", 1)
    altered: list[float] = []

    class SlowScan(TableScan):
        def feed(self, chunk):
            time.sleep(0.1)
            super().feed(chunk)

    real_dump_piece = pieces._dump_piece

    def slow_dump_piece(settings_, piece, *args):
        piece.scan = SlowScan()
        return real_dump_piece(settings_, piece, *args)

    def alter():
        with connect(settings) as other:
            other.execute("SET SESSION lock_wait_timeout = 60")
            other.execute("ALTER TABLE user ADD COLUMN extra INT")
            altered.append(time.monotonic())

    real_release = barrier.WriteBarrier.release

    def release(self):
        if self.held:
            threading.Thread(target=alter, daemon=True).start()
        real_release(self)

    monkeypatch.setattr(pieces, "_dump_piece", slow_dump_piece)
    monkeypatch.setattr(barrier.WriteBarrier, "release", release)
    monkeypatch.setattr(files, "WRITEBACK_BYTES", 4096)  # the writeback thread is running when it fails
    started = time.monotonic()
    with connect(settings) as db, pytest.raises(ClientsConnected, match=r"`user` waited 1 s behind connection "
                                                                          r"\d+ \(root\): ALTER TABLE user ADD"):
        take_snapshot(db, tmp_path)
    stopped = time.monotonic()
    assert stopped - started < 30
    for _ in range(100):
        if altered:
            break
        time.sleep(0.1)
    assert altered and altered[0] >= stopped - 1, "the ALTER goes through once the snapshot has stopped"
    assert list(tmp_path.iterdir()) == []
    assert _writeback_threads() == []  # joined on the way out, not left behind


def test_an_open_write_transaction_stops_the_snapshot_with_a_clear_error(dbs_off, tmp_path, monkeypatch):
    from migrator.snapshot import barrier

    settings = dbs_off.seeded()
    monkeypatch.setattr(barrier, "LOCK_WAIT_SECONDS", 1)
    with connect(settings) as harbor:
        harbor.execute("START TRANSACTION")
        harbor.execute("UPDATE user SET realname = 'busy' WHERE user_id = 2")
        with connect(settings) as db, pytest.raises(ClientsConnected, match="open write transactions"):
            take_snapshot(db, tmp_path)
        harbor.execute("ROLLBACK")
    assert list(tmp_path.iterdir()) == []
