"""rehearse: the whole upgrade on a throwaway copy, and plan on production using its timings."""
from __future__ import annotations

import json

import pytest

from migrator import api
from migrator.mysql.connection import connect
from migrator.safety.journal import Journal
from migrator.tools.seed import add_log_volume
from migrator.snapshot.take import take_snapshot
from migrator.api import rehearse
from tests.helpers import rows, run_cli

pytestmark = pytest.mark.integration


@pytest.fixture
def production(dbs_off, tmp_path, monkeypatch):
    monkeypatch.setenv("HARBOR_MIGRATE_STATE_DIR", str(tmp_path / "state"))
    settings = dbs_off.seeded()
    with connect(settings) as db:
        add_log_volume(db, 5000)
    return dbs_off, settings


def test_local_rehearsal_from_a_snapshot_feeds_plan(production, tmp_path):
    dbs, settings = production
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    report = rehearse(snapshot=str(manifest), backend="local")
    assert report.verify.ok
    assert [s.revision for s in report.upgrade.result.steps] == ["1.2.0", "1.3.0", "1.4.0", "1.5.0"]
    assert report.downtime_seconds >= report.upgrade.result.seconds > 0
    # production untouched, and its plan now estimates from the rehearsal's timings
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]
    plan = api.plan(settings)
    assert plan.rates_source == "journal"
    ops = [o for s in plan.steps for o in s.ops]
    assert all(o.estimate_source == "journal" for o in ops if o.kind in ("copy", "data"))
    events = list(Journal(settings).events())
    assert any(e.get("rehearsal") == "local" and e["event"] == "op_done" for e in events)


def test_a_harbor_010_database_rehearses_and_verifies(dbs_off, tmp_path, monkeypatch):
    """No alembic_version at all: the snapshot says 0.1.0 (found by the schema), the whole
    chain runs on the copy, and verify compares the data as 0.1.0 had it."""
    from tests.early_seed import seed_early

    monkeypatch.setenv("HARBOR_MIGRATE_STATE_DIR", str(tmp_path / "state"))
    settings = dbs_off.settings(dbs_off.create("h010"))
    with connect(settings) as db:
        seed_early(db, "0.1.0", stamped=False)
        manifest = take_snapshot(db, tmp_path)
    assert json.loads(manifest.read_text())["revision"] == "0.1.0"
    report = rehearse(snapshot=str(manifest), backend="local")
    assert report.verify.ok, [c.line() for c in report.verify.checks if not c.line().startswith("[  ok]")]
    assert report.upgrade.result.steps[0].revision == "0.1.1"
    assert {c.name for c in report.verify.checks} >= {"data.members", "data.users", "data.access_log"}


def test_rehearse_cli_from_the_live_database(production, tmp_path):
    dbs, settings = production
    code, out, err = run_cli(["rehearse", "--json", "--snapshot-dir", str(tmp_path), "--dsn",
                              f"mysql://root@localhost/{settings.database}?unix_socket={dbs.server.socket}"])
    assert code == 0, err
    data = json.loads(out)
    assert data["verify"]["ok"] and data["expected_downtime_seconds"] > 0
    assert len(list(tmp_path.glob("*.manifest.json"))) == 1


@pytest.mark.docker
def test_docker_rehearsal_on_the_local_image(production, tmp_path, docker_test_image):
    dbs, settings = production
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path)
    report = rehearse(snapshot=str(manifest), backend="docker", image=docker_test_image)
    assert report.verify.ok and report.backend == "docker"
    assert "docker" in report.server.lower() or "mariadb" in report.server.lower()
