"""Ctrl-C during ``upgrade --to 1.6.0`` (issue 16): the move stops cleanly (exit 130, one line) and
the same command again finishes it; ``verify --target-dsn`` then finds the target consistent.

The command runs as a child process, as an operator runs it; SIGINT is sent once the state
table records a finished table, while access_log (300 000 rows, after seven small tables)
is still being copied.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from migrator.move.copy import STATE_TABLE
from migrator.postgres.connection import connect_pg
from tests.helpers import run_cli, seeded_head

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def source(server_off):
    name = f"mv_int_{os.getpid()}"
    settings = seeded_head(server_off, name, log_rows=300_000)
    yield settings
    server_off.admin(f"DROP DATABASE IF EXISTS `{name}`")


def _finished_tables(target) -> int:
    with connect_pg(target) as pg:
        if not pg.scalar("SELECT to_regclass(%s) IS NOT NULL", (STATE_TABLE,)):
            return 0
        return int(pg.scalar(f"SELECT count(*) FROM {STATE_TABLE}"))


def test_sigint_during_the_move_stops_cleanly_and_resumes(source, pg_dbs, tmp_path):
    target = pg_dbs.pg.superuser_settings(pg_dbs.create("mvint"))
    args = [sys.executable, "-m", "migrator", "upgrade", "--to", "1.6.0", "--yes", "--socket", source.unix_socket,
            "--user", source.user, "--database", source.database, "--target-dsn", target.dsn(),
            "--snapshot-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": ROOT}
    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _finished_tables(target) == 0:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "no table finished in 120 s"
            time.sleep(0.02)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 130, (out, err)
    errors = [line for line in err.splitlines() if line.startswith("harbor-migrate: error")]
    assert len(errors) == 1 and "run the same command again" in errors[0], err
    assert "Traceback" not in err
    # Stopped half-way: some tables kept, not all (the state table is dropped only at the end).
    kept = _finished_tables(target)
    assert 0 < kept < 22, kept

    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert _finished_tables(target) == 0
    code, out, err = run_cli(["verify", "--socket", source.unix_socket, "--user", source.user, "--database",
                              source.database, "--target-dsn", target.dsn()])
    assert code == 0 and ": consistent" in out.splitlines()[0], (out, err)
