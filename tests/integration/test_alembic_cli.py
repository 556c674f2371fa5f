"""alembic's own CLI runs our revision scripts and gives the same database as harbor-migrate."""
from __future__ import annotations

import argparse
import contextlib
import pathlib
import subprocess
import sys

import pytest
from alembic import command
from alembic.config import Config
from alembic.util import CommandError

from migrator import api
from migrator.chain.scripts import check_chain
from migrator.mysql.connection import Database, connect
from migrator.chain.executor import UpgradeOptions
from tests.row_checksums import database_checksums
from tests.helpers import rows

pytestmark = pytest.mark.integration
INI = pathlib.Path(__file__).resolve().parents[2] / "alembic_versions" / "alembic.ini"


def test_chain_ids_are_harbors():
    assert check_chain() == [("0.1.1", None), ("0.3.0", "0.1.1"), ("0.4.0", "0.3.0"), ("1.2.0", "0.4.0"),
                             ("1.3.0", "1.2.0"), ("1.4.0", "1.3.0"), ("1.5.0", "1.4.0")]


def test_alembic_upgrade_equals_harbor_migrate(dbs_off):
    a, b = _seeded_pair(dbs_off)
    dsn = f"mysql+pymysql://root@localhost/{b.database}?unix_socket={dbs_off.server.socket}"
    res = subprocess.run([sys.executable, "-m", "alembic", "-c", str(INI), "-x", f"dsn={dsn}", "upgrade", "1.5.0"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert rows(b, "SELECT version_num FROM alembic_version") == [("1.5.0",)]
    _assert_same_as_harbor_migrate(a, b)


def _seeded_pair(dbs_off):
    """Two seeded databases that differ in nothing: the rows the seed stamps with the current
    time get one fixed time, or two seeds a second apart would never compare equal."""
    pair = dbs_off.seeded(), dbs_off.seeded()
    for settings in pair:
        with connect(settings) as db:
            db.execute("UPDATE user SET update_time = '2017-01-01 00:00:00' WHERE user_id IN (1, 2)")
            db.execute("UPDATE project SET creation_time = '2017-01-01 00:00:00', update_time = '2017-01-01 00:00:00' "
                       "WHERE project_id = 1")
            db.execute("UPDATE project_member SET creation_time = '2017-01-01 00:00:00', "
                       "update_time = '2017-01-01 00:00:00' WHERE project_id = 1")
            db.execute("UPDATE user SET creation_time = '2017-01-01 00:00:00', update_time = update_time "
                       "WHERE user_id IN (1, 2)")
    return pair


def _assert_same_as_harbor_migrate(a, b) -> None:
    """``a`` upgraded by harbor-migrate ends identical to ``b``, upgraded by alembic's CLI."""
    api.upgrade(a, UpgradeOptions())
    with connect(a) as da, connect(b) as db_:
        assert api.schema_drift(db_) == []
        sums_a, sums_b = database_checksums(da), database_checksums(db_)
    # rows created at migration time (metadata, triggers) carry each run's own time
    for t in ("project_metadata", "replication_immediate_trigger"):
        assert sums_a.pop(t)[0] == sums_b.pop(t)[0]
    assert sums_a == sums_b


def _alembic_in_process(dsn: str) -> None:
    """`alembic -x dsn=… upgrade head`, run in this process so that a fault can be injected."""
    cfg = Config(str(INI))
    cfg.cmd_opts = argparse.Namespace(x=[f"dsn={dsn}"])
    command.upgrade(cfg, "head")


@contextlib.contextmanager
def _kill_at(point: int, server):
    """Kill the run's connection right before the ``point``-th statement our loop sends."""
    original = Database.execute
    seen = [0]

    def execute(self, sql, args=None):
        seen[0] += 1
        if seen[0] == point:
            server.admin(f"KILL CONNECTION {self.conn.thread_id()}")
        return original(self, sql, args)

    Database.execute = execute
    try:
        yield seen
    finally:
        Database.execute = original


def _statements_of_a_run(dbs_off) -> int:
    c = dbs_off.seeded()
    with _kill_at(0, dbs_off.server) as seen:
        _alembic_in_process(f"mysql+pymysql://root@localhost/{c.database}?unix_socket={dbs_off.server.socket}")
    return seen[0]


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9])
def test_alembic_cli_resumes_after_a_kill_like_harbor_migrate(dbs_off, fraction):
    """A kill in the middle of `alembic upgrade` (before a statement 10 %, 50 % or 90 % into the
    run), then `alembic upgrade` again: the database equals the one `harbor-migrate upgrade`
    gives, because both run through the same loop."""
    point = max(1, int(_statements_of_a_run(dbs_off) * fraction))
    a, b = _seeded_pair(dbs_off)
    dsn = f"mysql+pymysql://root@localhost/{b.database}?unix_socket={dbs_off.server.socket}"
    with _kill_at(point, dbs_off.server), pytest.raises(CommandError, match="resumable"):
        _alembic_in_process(dsn)
    st = api.status(b)
    assert st.start is not None and st.state in ("dirty", "clean"), st.message
    _alembic_in_process(dsn)
    assert rows(b, "SELECT version_num FROM alembic_version") == [("1.5.0",)]
    _assert_same_as_harbor_migrate(a, b)
