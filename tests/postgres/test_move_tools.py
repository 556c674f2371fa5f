"""rehearse, demo and runbook for the 1.6.0 path, on a real MariaDB and real throwaway PostgreSQL clusters.

rehearse --to 1.6.0 and demo --to 1.6.0 start their own throwaway servers (a MariaDB and a
LocalPostgres each) and tear them down; runbook --to 1.6.0 reads a target on the session's cluster.
"""
from __future__ import annotations

import json

import pytest

from migrator import api
from migrator.mysql.connection import connect
from migrator.snapshot.take import take_snapshot
from migrator.tools.seed import add_log_volume
from tests.helpers import rows, run_cli

ROLE, PASSWORD = "harbor_rb", "rb-s3cret'pw"


@pytest.fixture
def production(dbs_off, local_pg, tmp_path, monkeypatch):
    """A seeded 0.5.0 database with some access_log volume (local_pg: skips without PostgreSQL binaries)."""
    monkeypatch.setenv("HARBOR_MIGRATE_STATE_DIR", str(tmp_path / "state"))
    settings = dbs_off.seeded("rt")
    with connect(settings) as db:
        add_log_volume(db, 3000)
    return settings


def _table_rows(data: dict) -> dict[str, int]:
    return {t["table"]: t["rows"] for t in data["move"]["tables"]}


def test_rehearse_to_160_through_the_api_and_the_cli(production, dbs_off, tmp_path):
    settings = production
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    report = api.rehearse_to_postgres(snapshot=str(manifest))
    assert report.ok and report.verify.ok and report.verify_target.ok
    assert [s.revision for s in report.upgrade.mysql.result.steps] == ["1.2.0", "1.3.0", "1.4.0", "1.5.0"]
    move = report.upgrade.move
    assert move.rows["access_log"] == 3007 and set(move.table_seconds) == set(move.rows)
    assert report.move_seconds >= sum(move.table_seconds.values()) > 0
    assert report.downtime_seconds >= report.chain_seconds + report.move_seconds
    target_checks = {c.name: c for c in report.verify_target.checks}
    schema = target_checks["schema"]
    assert schema.status.value == "ok" and "identical to a fresh 1.6.0" in schema.message
    # production untouched: still 0.4.0, on its own server
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]

    # the CLI from the same snapshot: the same steps, the same tables and rows, both sides consistent
    code, out, err = run_cli(["rehearse", "--to", "1.6.0", "--snapshot", str(manifest), "--json"])
    assert code == 0, err
    data = json.loads(out)
    assert data["to"] == "1.6.0" and data["verify"]["ok"] and data["verify_target"]["ok"]
    assert [s["revision"] for s in data["upgrade"]["mysql"]["run"]["steps"]] == ["1.2.0", "1.3.0", "1.4.0", "1.5.0"]
    assert _table_rows(data) == move.rows
    assert all(t["seconds"] >= 0 for t in data["move"]["tables"]) and data["expected_downtime_seconds"] > 0
    assert report.to_json()["move"]["tables"][0].keys() == data["move"]["tables"][0].keys()

    # and as text, from the live database (snapshotted first)
    dsn = f"mysql://root@localhost/{settings.database}?unix_socket={dbs_off.server.socket}"
    code, out, err = run_cli(["rehearse", "--to", "1.6.0", "--snapshot-dir", str(tmp_path / "live"), "--dsn", dsn])
    assert code == 0, err
    assert "and PostgreSQL (local, port" in out and "step 1.5.0:" in out
    assert "access_log: 3007 rows" in out and "verify (PostgreSQL): consistent" in out
    assert "upgrade: " in out and "verify: consistent" in out and "expected production downtime" in out
    assert "move to PostgreSQL: " in out and "s, default rate)" in out   # the rehearsal plans on a scratch journal
    assert len(list((tmp_path / "live").glob("*.manifest.json"))) == 1


def test_demo_to_160_prints_every_check_ok():
    code, out, err = run_cli(["demo", "--to", "1.6.0", "--log-rows", "1000"])
    assert code == 0, (out, err)
    checks = [line for line in out.splitlines() if line.startswith("[")]
    assert len(checks) >= 14 and all(line.startswith("[  ok]") for line in checks), checks
    assert "== move to PostgreSQL (Harbor 1.6.0) ==" in out and "access_log: 1007 rows" in out
    assert "state:     1.6.0 — Harbor 1.6.0, schema as a fresh 1.6.0" in out
    assert "identical to a fresh 1.6.0" in out and "equal to the MySQL source" in out
    assert "revision:  1.5.0" in out


def test_demo_to_an_intermediate_revision_is_a_usage_error():
    code, out, err = run_cli(["demo", "--to", "1.3.0"])
    assert code == 2 and "1.5.2 or 1.6.0" in err


def test_runbook_to_160_names_the_masked_target_and_the_move(production, local_pg, pg_dbs, dbs_off, tmp_path):
    settings = production
    local_pg.create_role(ROLE, PASSWORD, md5=True)
    name = pg_dbs.create("rb", owner=ROLE)
    target = f"postgresql://{ROLE}:{PASSWORD.replace(chr(39), '%27')}@127.0.0.1:{local_pg.port}/{name}"
    dsn = f"mysql://root@localhost/{settings.database}?unix_socket={dbs_off.server.socket}"
    args = ["runbook", "--to", "1.6.0", "--target-dsn", target, "--snapshot-dir", str(tmp_path), "--cfg",
            "/etc/harbor/harbor.cfg", "--dsn", dsn, "--no-calibrate"]
    code, out, err = run_cli(args)
    assert code == 0, err
    assert PASSWORD not in out + err and "s3cret" not in out + err
    assert f"postgresql://{ROLE}:***@127.0.0.1:{local_pg.port}/{name}" in out
    assert f"for `{settings.database}`" in out and "moved into PostgreSQL" in out
    for heading in ("## The move into PostgreSQL", "## Before the window", "## During the window",
                    "## After the window", "## Rollback"):
        assert heading in out
    assert "| access_log | access_log | 3007 |" in out and "| harbor_user | user |" in out
    assert "harbor-migrate rehearse --to 1.6.0" in out and "harbor-migrate upgrade --to 1.6.0" in out
    assert "cfg convert /etc/harbor/harbor.cfg --to 1.6.0" in out
    assert "SET password_encryption = 'md5'" in out and f"DROP DATABASE {name}" in out
    assert "Point Harbor 1.5.2 back at the MySQL database" in out

    code, out, err = run_cli([*args, "--json"])
    assert code == 0, err
    book = json.loads(out)
    assert book["to"] == "1.6.0" and book["target"]["state"] == "empty" and len(book["steps"]) == 4
    assert {m["table"] for m in book["move"]} >= {"harbor_user", "access_log", "admin_job"}
    assert set(book["phases"]) == {"before", "during", "after", "rollback"}
    assert PASSWORD not in out

    code, _, err = run_cli(["runbook", "--to", "1.6.0", "--dsn", dsn])
    assert code == 2 and "--target-dsn" in err
    code, _, err = run_cli(["runbook", "--target-dsn", target, "--dsn", dsn])
    assert code == 2 and "--to 1.6.0" in err
