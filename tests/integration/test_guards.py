"""One run at a time, Ctrl-C, and the journal."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pymysql
import pytest

from migrator import api
from migrator.mysql.connection import connect
from migrator.errors import ExitCode, Interrupted, Locked
from migrator.chain.executor import UpgradeOptions
from migrator.safety.guards import lock_name
from migrator.safety.journal import Journal
from migrator.tools.seed import add_log_volume
from tests.helpers import rows, run_cli

pytestmark = pytest.mark.integration


def test_second_run_fails_at_once_on_the_lock(dbs_off):
    settings = dbs_off.seeded()
    holder = pymysql.connect(unix_socket=dbs_off.server.socket, user="root", password="")
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT GET_LOCK(%s, 0)", (lock_name(connect(settings)),))
        t0 = time.monotonic()
        with pytest.raises(Locked, match="another harbor-migrate run"):
            api.upgrade(settings, UpgradeOptions(), force_clients=True)
        assert time.monotonic() - t0 < 5
        code, out, err = run_cli(["upgrade", "--yes", "--force", "--no-snapshot", "--dsn",
                                  f"mysql://root@localhost/{settings.database}?unix_socket={dbs_off.server.socket}"])
        assert code == ExitCode.LOCKED
    finally:
        holder.close()
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]
    api.upgrade(settings, UpgradeOptions())


def test_stop_request_finishes_the_operation_then_resumes(dbs_off, tmp_path):
    settings = dbs_off.seeded()
    calls = {"n": 0}

    def stop_after_five() -> bool:
        calls["n"] += 1
        return calls["n"] > 5

    journal = Journal(settings, directory=tmp_path)
    with pytest.raises(Interrupted) as exc:
        api.upgrade(settings, UpgradeOptions(), should_stop=stop_after_five, journal=journal)
    assert exc.value.exit_code == ExitCode.INTERRUPTED and "resumable" in exc.value.message
    st = api.status(settings)
    assert st.state == "dirty" and st.pending, st
    events = [e["event"] for e in journal.events()]
    assert events.count("op_done") >= 1 and "run_done" not in events
    api.upgrade(settings, UpgradeOptions(), journal=journal)
    assert api.status(settings).state == "clean"
    assert "run_done" in [e["event"] for e in journal.events()]
    assert oct(os.stat(journal.path).st_mode)[-3:] == "600"


def test_ctrl_c_in_the_cli_exits_130_and_resumes(dbs_off, tmp_path):
    settings = dbs_off.seeded()
    with connect(settings) as db:
        add_log_volume(db, 400_000)  # long enough for the signal to land inside step 1.2.0
    dsn = f"mysql://root@localhost/{settings.database}?unix_socket={dbs_off.server.socket}"
    env = {**os.environ, "HARBOR_MIGRATE_STATE_DIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "upgrade", "--yes", "--no-snapshot", "--dsn", dsn],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("step 1.2.0"):
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=120)[1], None
    err = "".join(lines) + (rest or "")
    assert proc.returncode == 130, err
    assert "stopping after the current operation" in err and "Traceback" not in err
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("0.4.0",)]
    code, out, err2 = run_cli(["upgrade", "--yes", "--no-snapshot", "--dsn", dsn], env={"HARBOR_MIGRATE_STATE_DIR": str(tmp_path)})
    assert code == 0, err2
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("1.5.0",)]


def test_resumed_run_points_at_the_first_snapshot(dbs_off, tmp_path):
    settings = dbs_off.seeded()
    journal = Journal(settings, directory=tmp_path / "state")
    snaps = tmp_path / "snaps"
    calls = {"n": 0}

    def stop_after_three() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(Interrupted):
        api.upgrade(settings, UpgradeOptions(), should_stop=stop_after_three, journal=journal, snapshot_dir=str(snaps))
    first = list(snaps.glob("*.manifest.json"))
    assert len(first) == 1 and "0.4.0" in first[0].name
    lines = []
    outcome = api.upgrade(settings, UpgradeOptions(), journal=journal, snapshot_dir=str(snaps), progress=lines.append)
    assert outcome.snapshot == str(first[0])
    assert list(snaps.glob("*.manifest.json")) == first  # no snapshot of the half-done database
    assert any("resuming" in line and str(first[0]) in line for line in lines)
    assert api.verify(settings, snapshot=outcome.snapshot, only=("data",)).ok


def test_a_blocked_statement_is_reported_while_it_waits(dbs_off):
    """A Harbor-like client holding a metadata lock: the upgrade says what it waits for."""
    settings = dbs_off.seeded()
    blocker = dbs_off.server.root_connection(settings.database)
    lines: list[str] = []
    try:
        with blocker.cursor() as cur:
            cur.execute("START TRANSACTION")
            cur.execute("SELECT COUNT(*) FROM user")  # holds a shared metadata lock until commit
        import threading
        threading.Timer(3.0, blocker.commit).start()
        api.upgrade(settings, UpgradeOptions(watch_interval=0.5), force_clients=True, progress=lines.append)
    finally:
        blocker.close()
    assert any("metadata lock" in line.lower() and line.lstrip().startswith("…") for line in lines), lines
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("1.5.0",)]
