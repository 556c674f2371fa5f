"""Pre-flight checks the constraints of the steps up to the target only: a row that only a later
step would reject does not stop ``plan``/``upgrade --to`` an earlier revision."""
from __future__ import annotations

import json

import pytest

from migrator import api
from migrator.chain import revisions as chain
from migrator.chain.executor import UpgradeOptions
from migrator.errors import ExitCode
from migrator.mysql.connection import connect
from migrator.schema.revisions import MODELS
from migrator.verdicts import Verdict
from tests.helpers import rows, run_cli

pytestmark = pytest.mark.integration


def _unique_k_arrives() -> str:
    """The first revision whose properties table has a unique key on k besides its primary key."""
    for rev in chain.ORDER:
        props = next((t for t in MODELS[rev].tables if t.name == "properties"), None)
        if props and any(i.unique and i.name != "PRIMARY" and tuple(i.columns) == ("k",) for i in props.indexes):
            return rev
    raise AssertionError("no revision gives properties a unique k")


def _data(out: str) -> dict:
    return next(c for c in json.loads(out)["checks"] if c["name"] == "data")


def test_plan_checks_only_the_steps_up_to_the_target(dbs_off):
    arrives = _unique_k_arrives()
    start = chain.ORDER[chain.index(arrives) - 1]
    settings = dbs_off.seeded()
    api.upgrade(settings, UpgradeOptions(target=start))
    with connect(settings) as db:
        # k is the primary key up to `start`: only a hand-dropped key lets duplicates in; the step to
        # `arrives` would then fail on its new unique key.
        db.execute("ALTER TABLE properties DROP PRIMARY KEY")
        db.execute("INSERT INTO properties (k, v) VALUES ('auth_mode', 'db_auth'), ('auth_mode', 'ldap_auth')")
    dsn = f"mysql://root@localhost/{settings.database}?unix_socket={dbs_off.server.socket}"

    code, out, err = run_cli(["plan", "--json", "--no-calibrate", "--to", start, "--dsn", dsn])
    assert code == 0, err
    assert _data(out)["status"] != Verdict.FAIL.value

    for target in (arrives, chain.HEAD):
        code, out, err = run_cli(["plan", "--json", "--no-calibrate", "--to", target, "--dsn", dsn])
        assert code == ExitCode.DATA_CONFLICT, err
        data = _data(out)
        assert data["status"] == Verdict.FAIL.value
        assert any(d.startswith(f"step {arrives}: properties has duplicate (k)") for d in data["details"]), data

    # upgrade to past that step is refused before anything changes
    code, out, err = run_cli(["upgrade", "--yes", "--no-snapshot", "--to", chain.HEAD, "--dsn", dsn])
    assert code == ExitCode.DATA_CONFLICT and "properties has duplicate (k)" in err
    assert rows(settings, "SELECT version_num FROM alembic_version") == [(start,)]
