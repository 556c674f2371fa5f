"""verify: the schema, the data against the pre-upgrade snapshot, and the invariants."""
from __future__ import annotations

import hashlib
import json

import pytest

from migrator import api
from migrator.verdicts import Verdict
from migrator.mysql.connection import connect
from migrator.errors import ExitCode
from migrator.chain.executor import UpgradeOptions
from migrator.chain.revisions import HEAD
from migrator.schema import projections as schema_projections
from migrator.snapshot.take import take_snapshot
from tests.helpers import run_cli

pytestmark = pytest.mark.integration


def _dsn(server, db):
    return f"mysql://root@localhost/{db}?unix_socket={server.socket}"


def _by_name(report):
    return {c.name: c for c in report.checks}


def test_everything_consistent_after_upgrade(upgraded, tmp_path):
    dbs, settings, manifest = upgraded
    report = api.verify(settings, snapshot=str(manifest), only=("schema", "data"))
    checks = _by_name(report)
    assert report.ok, [c.line() for c in report.checks if c.status != Verdict.OK]
    assert {"schema", "invariants", "data.users", "data.projects", "data.members", "data.access_log",
            "data.replication_policies", "data.replication_triggers", "data.replication_jobs"} <= set(checks)
    assert checks["data.replication_jobs"].message == "3 rows, as before the upgrade (row by row)"
    md = tmp_path / "report.md"
    code, out, err = run_cli(["verify", "--only", "schema", "--only", "data", "--snapshot", str(manifest),
                              "--report", str(md), "--dsn", _dsn(dbs.server, settings.database)])
    assert code == 0, err
    assert "consistent" in out and "| data.access_log | ok |" in md.read_text()


def test_lost_and_changed_rows_are_listed_by_key(upgraded):
    dbs, settings, manifest = upgraded
    with connect(settings) as db:
        db.execute("DELETE FROM project_member WHERE project_id = 2 AND entity_id = 7")
        db.execute("UPDATE project_metadata SET value = 'false' WHERE project_id = 3")
        db.execute("UPDATE access_log SET op_time = NOW() WHERE log_id = 3")
        db.execute("UPDATE access_log SET username = 'someone' WHERE log_id = 5")  # the orphan's '' name
        db.execute("DELETE FROM access_log WHERE log_id = 7")
        db.execute("DELETE FROM replication_immediate_trigger WHERE policy_id = 6")
        db.execute("UPDATE replication_job SET job_uuid = 'by-1.5', update_time = update_time")  # not compared
        db.execute("UPDATE replication_job SET tags = 'v1,v3' WHERE id = 1")
        db.execute("DELETE FROM replication_job WHERE id = 3")
        db.execute("INSERT INTO replication_job (id, status, policy_id, repository, operation) "
                   "VALUES (9, 'pending', 1, 'r', 'transfer')")
    report = api.verify(settings, snapshot=str(manifest), only=("data",))
    checks = _by_name(report)
    assert not report.ok and report.exit_code() == ExitCode.VERIFY_FAILED
    assert any("missing: 2:7" in d for d in checks["data.members"].details)
    assert any("changed: 3" in d for d in checks["data.projects"].details)
    assert any("2 changed: log_id 3, 5" in d for d in checks["data.access_log"].details)
    assert any("1 missing: log_id 7" in d for d in checks["data.access_log"].details)
    assert any("missing: 6:qa" in d for d in checks["data.replication_triggers"].details)
    assert checks["data.replication_jobs"].details == ["replication_job: 1 missing: id 3",
                                                       "replication_job: 1 new: id 9",
                                                       "replication_job: 1 changed: id 1"]
    code, out, err = run_cli(["verify", "--json", "--only", "data", "--snapshot", str(manifest), "--dsn",
                              _dsn(dbs.server, settings.database)])
    assert code == ExitCode.VERIFY_FAILED
    assert json.loads(out)["ok"] is False


def test_without_a_manifest_only_invariants(upgraded):
    dbs, settings, _ = upgraded
    report = api.verify(settings, only=("data",))
    checks = _by_name(report)
    assert checks["invariants"].status == Verdict.OK and checks["data"].status == Verdict.WARN
    with connect(settings) as db:
        db.execute("DELETE FROM project_metadata WHERE project_id = 5")
    checks = _by_name(api.verify(settings, only=("data",)))
    assert checks["invariants"].status == Verdict.FAIL
    assert any("one 'public' metadata row: 1 violation" in d for d in checks["invariants"].details)


def test_snapshot_of_another_database(upgraded, dbs_off, tmp_path):
    dbs, settings, _ = upgraded
    other = dbs_off.seeded()
    with connect(other) as db:
        foreign = take_snapshot(db, tmp_path / "other")
    report = api.verify(settings, snapshot=str(foreign), only=("data",))
    assert report.exit_code() == ExitCode.SNAPSHOT_INVALID
    assert "is of database" in _by_name(report)["data"].message


def test_schema_drift_is_listed(upgraded):
    dbs, settings, manifest = upgraded
    with connect(settings) as db:
        db.execute("ALTER TABLE project_member MODIFY entity_type varchar(1) NOT NULL")
        db.execute("ALTER TABLE img_scan_overview DROP INDEX image_digest")
    check = _by_name(api.verify(settings, only=("schema",)))["schema"]
    assert check.status == Verdict.FAIL
    assert any("entity_type" in d and "char(1)" in d for d in check.details)
    assert any("image_digest" in d for d in check.details)


def test_verify_a_database_that_is_not_harbor(dbs_off):
    name = dbs_off.create("nothere")
    code, out, err = run_cli(["verify", "--dsn", _dsn(dbs_off.server, name)])
    assert code == ExitCode.NOT_HARBOR and "Traceback" not in err


def test_the_audit_log_needs_the_snapshots_dump(upgraded):
    dbs, settings, manifest = upgraded
    from migrator.archive.manifest import snapshot_paths
    snapshot_paths(manifest)[0].unlink()
    checks = _by_name(api.verify(settings, snapshot=str(manifest), only=("data",)))
    for name in ("data.access_log", "data.replication_jobs"):
        assert checks[name].status == Verdict.FAIL and "is missing" in checks[name].message
    assert checks["data.users"].status == Verdict.OK  # the manifest's projections still serve


def test_a_manifest_with_a_jobs_projection_is_compared_row_by_row(upgraded):
    """Snapshots taken before replication_job left the projections still carry its hashes:
    those are passed over and the rows compared as for any snapshot."""
    dbs, settings, manifest = upgraded
    data = json.loads(manifest.read_text())
    data["entities"]["replication_jobs"] = {"rows": 3, "sha256": "0" * 64, "keys": {"1": "0" * 16}}
    manifest.write_text(json.dumps(data))
    with connect(settings) as db:
        db.execute("UPDATE replication_job SET status = 'error' WHERE id = 3")
    checks = api.verify(settings, snapshot=str(manifest), only=("data",)).checks
    jobs = [c for c in checks if c.name == "data.replication_jobs"]
    assert len(jobs) == 1 and jobs[0].details == ["replication_job: 1 changed: id 3"]


def _hashed_here(db, revision):
    """The projections' rows fetched one by one and hashed in Python, not by the server."""
    out = {}
    for name, p in schema_projections.projections(revision).items():
        rows = [] if p is None else db.query(f"SELECT {p.key}, {p.line} FROM {p.source} ORDER BY {p.order}")
        short = [(str(key), hashlib.sha256(line if isinstance(line, bytes) else str(line).encode()).hexdigest()[:16])
                 for key, line in rows]
        out[name] = {"rows": len(short), "sha256": hashlib.sha256("".join(h for _, h in short).encode()).hexdigest(),
                     "keys": dict(short)}
    return out


@pytest.mark.parametrize("bucket_rows, bucket_bytes", [(1024, None), (2, None), (2, 4)],
                         ids=["one-bucket", "many-buckets", "buckets-cut-short"])
def test_projections_hashed_by_the_server_equal_the_rows_hashed_here(dbs_off, monkeypatch, bucket_rows, bucket_bytes):
    """Before (0.4.0) and after the upgrade (1.5.0, project_metadata, entity ids), with the seed's
    non-Latin-1 names: in key order across buckets, and row by row when a bucket outgrows
    group_concat_max_len."""
    monkeypatch.setattr(schema_projections, "BUCKET_ROWS", bucket_rows)
    if bucket_bytes:
        monkeypatch.setattr(schema_projections, "_GROUPED_BYTES", bucket_bytes)
    settings = dbs_off.seeded()
    for revision in ("0.4.0", HEAD):
        if revision == HEAD:
            api.upgrade(settings, UpgradeOptions())
        with connect(settings) as db:
            found = schema_projections.entity_fingerprints(db, revision)
            assert found == _hashed_here(db, revision)
        assert found["users"]["rows"] >= 5 and "张三" not in json.dumps(found, ensure_ascii=False)  # hashes, not names
        assert {"1", "8"} <= set(found["users"]["keys"]) and found["members"]["rows"] >= 3
