"""The snapshot manifest as a type: written as ever, read back whole, old ones still read,
anything else refused as a bad snapshot (exit 14). No server needed."""
from __future__ import annotations

import json
import os
import stat

import pytest

from migrator.archive.frames import differences
from migrator.archive.manifest import (FORMAT, DumpFile, Fingerprint, Manifest, PieceEntry, Source, TableEntry,
                                       snapshot_paths)
from migrator.errors import ExitCode, SnapshotInvalid
from tests.helpers import run_cli

# A manifest as take_snapshot wrote it (keys in this order, one top-level key per line).
WRITTEN = """{
  "format": "harbor-migrate-snapshot/2",
  "created": "2026-11-27T10:12:00+00:00",
  "seconds": 0.781,
  "source": {"dsn": "mysql://harbor:***@db:3306/registry", "database": "registry", "server": "MariaDB 10.11.6", \
"server_key": "db_3306_registry", "flavour": "mariadb", "version_tuple": [10, 11, 6], "version": "10.11.6-MariaDB", \
"sql_mode": "STRICT_TRANS_TABLES", "explicit_defaults_for_timestamp": true, "charset": "utf8mb4", \
"collation": "utf8mb4_general_ci"},
  "revision": "0.4.0",
  "dump": {"file": "registry-0.4.0.sql.zst", "sha256": "ab12", "bytes": 2048, "client": "mariadb-dump"},
  "tables": [{"name": "access_log", "ddl": "CREATE TABLE `access_log` (\\n  `log_id` int(11) NOT NULL\\n)", \
"rows": 7, "sha256": "cd34"}, {"name": "user", "ddl": "CREATE TABLE `user` (…)", "rows": 2, "sha256": "ef56"}],
  "pieces": [{"frame": 0, "table": "access_log", "where": "`log_id` <= 4", "charset": "binary", "rows": 4, \
"sha256": "a1"}, {"frame": 1, "table": "user", "where": null, "charset": "utf8mb4", "rows": 2, "sha256": "ef56"}, \
{"frame": 2, "table": "access_log", "where": "`log_id` > 4", "charset": "binary", "rows": 3, "sha256": "a2"}],
  "triggers": 0,
  "entities": {"users": {"rows": 2, "sha256": "77", "keys": {"1": "0011223344556677", "张三": "8899aabbccddeeff"}}}
}
"""


def test_a_written_manifest_reads_back_typed_and_writes_back_byte_for_byte(tmp_path):
    path = tmp_path / "registry-0.4.0.manifest.json"
    path.write_text(WRITTEN, encoding="utf-8")
    m = Manifest.load(tmp_path / "registry-0.4.0.sql.zst")  # either file names the snapshot
    assert m.FORMAT == FORMAT == "harbor-migrate-snapshot/2"
    assert m.revision == "0.4.0" and m.triggers == 0 and m.seconds == 0.781
    assert m.source.database == "registry" and m.source.version_tuple == (10, 11, 6)
    assert m.source.explicit_defaults_for_timestamp is True and m.source.sql_mode == "STRICT_TRANS_TABLES"
    assert m.dump == DumpFile("registry-0.4.0.sql.zst", "ab12", 2048, "mariadb-dump")
    assert m.table("access_log") == TableEntry("access_log", "CREATE TABLE `access_log` (\n  `log_id` int(11) NOT "
                                               "NULL\n)", 7, "cd34")
    assert m.table("nothing") is None and m.rows == 9
    assert m.pieces[0] == PieceEntry(0, "access_log", "`log_id` <= 4", "binary", 4, "a1")
    assert m.frames_of("access_log") == {0, 2} and m.pieces[0].label == "access_log where `log_id` <= 4"
    assert m.entities == {"users": Fingerprint(2, "77", {"1": "0011223344556677", "张三": "8899aabbccddeeff"})}
    assert m.text() == WRITTEN
    copy = tmp_path / "copy.manifest.json"
    m.save(copy)
    assert copy.read_text(encoding="utf-8") == WRITTEN and stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert Manifest.load(copy) == m
    with pytest.raises(FileExistsError):  # a manifest is written once, never over another
        m.save(copy)


def test_built_in_code_it_writes_what_the_snapshot_always_wrote():
    m = Manifest(created="2026-11-27T10:12:00+00:00", seconds=0.781,
                 source=Source("mysql://harbor:***@db:3306/registry", "registry", "MariaDB 10.11.6",
                               "db_3306_registry", "mariadb", (10, 11, 6), "10.11.6-MariaDB", "STRICT_TRANS_TABLES",
                               True, "utf8mb4", "utf8mb4_general_ci"),
                 revision="0.4.0", dump=DumpFile("registry-0.4.0.sql.zst", "ab12", 2048, "mariadb-dump"),
                 tables=[TableEntry("access_log", "CREATE TABLE `access_log` (\n  `log_id` int(11) NOT NULL\n)", 7,
                                    "cd34"),
                         TableEntry("user", "CREATE TABLE `user` (…)", 2, "ef56")],
                 pieces=[PieceEntry(0, "access_log", "`log_id` <= 4", "binary", 4, "a1"),
                         PieceEntry(1, "user", None, "utf8mb4", 2, "ef56"),
                         PieceEntry(2, "access_log", "`log_id` > 4", "binary", 3, "a2")],
                 triggers=0,
                 entities={"users": Fingerprint(2, "77", {"1": "0011223344556677", "张三": "8899aabbccddeeff"})})
    assert m.text() == WRITTEN


def test_an_older_manifest_without_piece_charsets_reads_as_utf8mb4(tmp_path):
    data = json.loads(WRITTEN)
    for p in data["pieces"]:
        del p["charset"]
    for key in ("server_key", "flavour", "version_tuple"):
        del data["source"][key]
    (tmp_path / "old.manifest.json").write_text(json.dumps(data, indent=2))
    m = Manifest.load(tmp_path / "old.manifest.json")
    assert [p.charset for p in m.pieces] == ["utf8mb4"] * 3
    assert m.source.server_key is None and m.source.flavour == "mariadb" and m.source.version_tuple == (10, 11)


def test_differences_name_each_piece_by_its_range():
    m = Manifest.from_json(json.loads(WRITTEN))
    found = {(0, "access_log"): (4, "a1"), (1, "user"): (2, "changed"), (2, "access_log"): (2, "a2")}
    assert differences(m, found) == ["user (2 rows, manifest 2, rows differ)",
                                     "access_log where `log_id` > 4 (2 rows, manifest 3)"]
    assert differences(m, {}) == [f"{p.label} (no rows, manifest {p.rows})" for p in m.pieces]


@pytest.mark.parametrize("text, message", [
    ("{not json", "unreadable or corrupt"),
    ("[]", "is not a harbor-migrate-snapshot/2 manifest"),
    (json.dumps({"format": "harbor-migrate-snapshot/3"}), r"manifest \(a newer format: read it with the harbor-migrate "
                                                          "release that wrote it\\)$"),
    (json.dumps({"format": "harbor-migrate-snapshot/1"}), r"older format: load its \.sql\.gz with `zcat"),
    (json.dumps({"format": "something else", "tables": []}), "is not a harbor-migrate-snapshot/2 manifest$"),
], ids=["not-json", "not-an-object", "newer-format", "older-format", "foreign"])
def test_a_manifest_of_another_format_is_refused(tmp_path, text, message):
    path = tmp_path / "x.manifest.json"
    path.write_text(text)
    with pytest.raises(SnapshotInvalid, match=message) as exc:
        Manifest.load(path)
    assert exc.value.exit_code == ExitCode.SNAPSHOT_INVALID == 14


@pytest.mark.parametrize("damage", ["no-dump", "no-pieces", "piece-without-rows", "tables-not-a-list"])
def test_a_damaged_manifest_is_a_bad_snapshot_not_a_crash(tmp_path, damage):
    data = json.loads(WRITTEN)
    if damage == "no-dump":
        del data["dump"]
    elif damage == "no-pieces":
        del data["pieces"]
    elif damage == "piece-without-rows":
        del data["pieces"][1]["rows"]
    else:
        data["tables"] = 7
    path = tmp_path / "x.manifest.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotInvalid, match="is corrupt") as exc:
        Manifest.load(path)
    assert exc.value.exit_code == ExitCode.SNAPSHOT_INVALID


def test_no_manifest_and_a_wrong_format_exit_14_on_the_command_line(tmp_path):
    code, _, err = run_cli(["snapshot", "verify", str(tmp_path / "nothing.sql.zst")])
    assert code == ExitCode.SNAPSHOT_INVALID and "no manifest" in err and "Traceback" not in err
    (tmp_path / "old.manifest.json").write_text(json.dumps({"format": "harbor-migrate-snapshot/1"}))
    code, _, err = run_cli(["snapshot", "verify", str(tmp_path / "old.sql.gz")])
    assert code == 14 and "older format" in err and "Traceback" not in err


def test_both_files_are_named_by_either_or_by_their_stem(tmp_path):
    expected = (tmp_path / "a.sql.zst", tmp_path / "a.manifest.json")
    for name in ("a", "a.sql.zst", "a.manifest.json", "a.sql.gz"):
        assert snapshot_paths(tmp_path / name) == expected
