"""verify without --snapshot: the snapshot of the database's last upgrade, from its journal, or a verdict
that says data was not compared; --no-snapshot for those who mean it."""
from __future__ import annotations

import json
import os

import pytest

from migrator import api
from migrator.chain.executor import UpgradeOptions
from migrator.errors import ExitCode
from migrator.mysql.connection import connect
from migrator.safety.journal import Journal
from migrator.verdicts import Verdict
from tests.helpers import run_cli

pytestmark = pytest.mark.integration

NOT_COMPARED = "consistent (schema and invariants only: no snapshot to compare data with)"


def _dsn(server, db):
    return f"mysql://root@localhost/{db}?unix_socket={server.socket}"


@pytest.fixture
def journaled(dbs_off, tmp_path):
    """A 0.5.0 database upgraded with a snapshot, recorded in a journal under tmp_path/state."""
    settings = dbs_off.seeded()
    state = tmp_path / "state"
    outcome = api.upgrade(settings, UpgradeOptions(), snapshot_dir=str(tmp_path),
                          journal=Journal(settings, directory=state))
    assert outcome.snapshot and outcome.snapshot.endswith(".manifest.json")
    return dbs_off, settings, state, outcome.snapshot


def test_verify_after_upgrade_compares_data_with_the_upgrades_snapshot(journaled):
    dbs, settings, state, manifest = journaled
    report = api.verify(settings, only=("schema", "data"), journal=Journal(settings, directory=state))
    checks = {c.name: c for c in report.checks}
    assert report.ok and report.verdict == "consistent", [c.line() for c in report.checks]
    assert report.snapshot == manifest and report.not_compared is None
    assert checks["data.snapshot"].status is Verdict.OK and manifest in checks["data.snapshot"].message
    assert checks["data.users"].status is Verdict.OK and "data" not in checks     # compared, not skipped

    env = {"HARBOR_MIGRATE_STATE_DIR": str(state)}
    args = ["verify", "--only", "schema", "--only", "data", "--dsn", _dsn(dbs.server, settings.database)]
    code, out, err = run_cli(args, env=env)
    assert code == 0, out + err
    assert out.splitlines()[0].endswith(": consistent")
    assert f"data.snapshot: compared with {manifest}, the snapshot of this database's last upgrade (journal)" in out
    code, out, _ = run_cli(args + ["--json"], env=env)
    assert code == 0 and json.loads(out)["snapshot"] == manifest

    with connect(settings) as db:         # the comparison is real: a lost row fails it
        db.execute("DELETE FROM project_member WHERE project_id = 2 AND entity_id = 7")
    code, out, _ = run_cli(args, env=env)
    assert code == ExitCode.VERIFY_FAILED and "NOT consistent" in out.splitlines()[0]
    assert "missing: 2:7" in out


def test_no_snapshot_flag_compares_no_data_and_the_verdict_says_so(journaled):
    dbs, settings, state, _ = journaled
    env = {"HARBOR_MIGRATE_STATE_DIR": str(state)}
    dsn = _dsn(dbs.server, settings.database)
    code, out, err = run_cli(["verify", "--only", "schema", "--only", "data", "--no-snapshot", "--dsn", dsn], env=env)
    assert code == 0, out + err
    assert out.splitlines()[0].endswith(": consistent (schema and invariants only: --no-snapshot)")
    assert "data.users" not in out and "data.snapshot" not in out
    code, out, err = run_cli(["verify", "--no-snapshot", "--snapshot", "x.manifest.json", "--dsn", dsn], env=env)
    assert code == ExitCode.USAGE and "contradict" in err


def test_the_journals_snapshot_gone_is_a_failure_naming_the_way_out(journaled):
    dbs, settings, state, manifest = journaled
    moved = manifest + ".moved"
    os.rename(manifest, moved)
    report = api.verify(settings, only=("data",), journal=Journal(settings, directory=state))
    check = {c.name: c for c in report.checks}["data.snapshot"]
    assert check.status is Verdict.FAIL and report.exit_code() == ExitCode.SNAPSHOT_INVALID
    assert "is gone" in check.message and "--no-snapshot" in check.message


def test_a_database_without_a_journal_snapshot_says_schema_and_invariants_only(dbs_off, tmp_path):
    settings = dbs_off.seeded()
    state = tmp_path / "state"
    api.upgrade(settings, UpgradeOptions(), journal=Journal(settings, directory=state))   # no snapshot taken
    report = api.verify(settings, only=("schema", "data"), journal=Journal(settings, directory=state))
    assert report.ok and report.verdict == NOT_COMPARED and report.snapshot is None
    code, out, err = run_cli(["verify", "--only", "schema", "--only", "data", "--dsn",
                              _dsn(dbs_off.server, settings.database)], env={"HARBOR_MIGRATE_STATE_DIR": str(state)})
    assert code == 0, out + err
    assert out.splitlines()[0] == f"verify {settings.masked_dsn()}: {NOT_COMPARED}"
    code, out, _ = run_cli(["verify", "--json", "--only", "data", "--dsn", _dsn(dbs_off.server, settings.database)],
                           env={"HARBOR_MIGRATE_STATE_DIR": str(state)})
    assert json.loads(out)["verdict"] == "consistent (invariants only: no snapshot to compare data with)"
