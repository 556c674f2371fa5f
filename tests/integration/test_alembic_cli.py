"""alembic's own CLI runs our revision scripts and gives the same database as harbor-migrate."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from migrator import api
from migrator.chain.scripts import check_chain
from migrator.mysql.connection import connect
from migrator.chain.executor import UpgradeOptions
from tests.row_checksums import database_checksums
from tests.helpers import rows

pytestmark = pytest.mark.integration
INI = pathlib.Path(__file__).resolve().parents[2] / "alembic_versions" / "alembic.ini"


def test_chain_ids_are_harbors():
    assert check_chain() == [("0.1.1", None), ("0.3.0", "0.1.1"), ("0.4.0", "0.3.0"), ("1.2.0", "0.4.0"),
                             ("1.3.0", "1.2.0"), ("1.4.0", "1.3.0"), ("1.5.0", "1.4.0")]


def test_alembic_upgrade_equals_harbor_migrate(dbs_off):
    a = dbs_off.seeded()
    b = dbs_off.seeded()
    dsn = f"mysql+pymysql://root@localhost/{b.database}?unix_socket={dbs_off.server.socket}"
    for settings in (a, b):
        with connect(settings) as db:
            db.execute("UPDATE user SET update_time = '2017-01-01 00:00:00' WHERE user_id IN (1, 2)")
            db.execute("UPDATE project SET creation_time = '2017-01-01 00:00:00', update_time = '2017-01-01 00:00:00' "
                       "WHERE project_id = 1")
            db.execute("UPDATE project_member SET creation_time = '2017-01-01 00:00:00', "
                       "update_time = '2017-01-01 00:00:00' WHERE project_id = 1")
            db.execute("UPDATE user SET creation_time = '2017-01-01 00:00:00', update_time = update_time "
                       "WHERE user_id IN (1, 2)")
    res = subprocess.run([sys.executable, "-m", "alembic", "-c", str(INI), "-x", f"dsn={dsn}", "upgrade", "1.5.0"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert rows(b, "SELECT version_num FROM alembic_version") == [("1.5.0",)]
    api.upgrade(a, UpgradeOptions())
    with connect(a) as da, connect(b) as db_:
        assert api.schema_drift(db_) == []
        sums_a, sums_b = database_checksums(da), database_checksums(db_)
    # rows created at migration time (metadata, triggers) carry each run's own time
    for t in ("project_metadata", "replication_immediate_trigger"):
        assert sums_a.pop(t)[0] == sums_b.pop(t)[0]
    assert sums_a == sums_b
