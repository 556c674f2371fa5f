"""Kill the move anywhere, run it again: the target must equal an uninterrupted move.

The fault points are every table boundary (before each table's TRUNCATE; for
access_log also after its COPY, just before it commits), the two ends of the final transaction (indexes,
constraints, sequences), and several points inside the access_log copy (a few
thousand rows in batches of 200). What is killed: (a) the tool's PostgreSQL
connection (pg_terminate_backend from another session), (b) the PostgreSQL server
(kill -9 of its process group, restarted on the same data directory), (c) the tool's
MySQL connection (KILL CONNECTION), (d) the tool itself (SIGKILL of a child process
running the move once the state table shows N finished tables, or once the
access_log COPY is under way). After each kill the same move runs again; the target
must then equal an uninterrupted move: schema (postgres/compare.py), every table's
rows (md5 of all its rows as text), every sequence's position. The number of points
tried is printed.

The hooks live here, not in the library: ``PgDatabase.execute`` patched at class
level sees the statements that open and close each table and the final
transaction; the progress callback (public API) sees the rows inside a copy.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from migrator.errors import MigratorError
from migrator.move.copy import STATE_TABLE, move_database
from migrator.move.target_schema import phase_after_load
from migrator.mysql.connection import connect
from migrator.postgres.compare import compare_schemas
from migrator.postgres.connection import PgDatabase, connect_pg
from migrator.postgres.introspect import read_schema
from migrator.tools.local_postgres import LocalPostgres, find_pg_bindir
from tests.helpers import seeded_head

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LOG_ROWS = 3000
MOVE = dict(batch_rows=200, report_every=600)      # access_log: 5 points inside its copy
FIRST_AFTER_LOAD = phase_after_load()[0]


@pytest.fixture(scope="module")
def source(server_off):
    """A Harbor 1.5.0 database (the seed plus LOG_ROWS access_log rows), never written by a move."""
    name = f"resume_move_{os.getpid()}"
    settings = seeded_head(server_off, name, log_rows=LOG_ROWS)
    yield settings
    server_off.admin(f"DROP DATABASE IF EXISTS `{name}`")


class Faults:
    """Names the fault points as the move reaches them, and fires ``fire`` at the ``at``-th."""

    def __init__(self, at: int | None = None, fire=None):
        self.at, self.fire = at, fire
        self.seen: list[str] = []
        self.table = ""

    def point(self, where: str) -> None:
        self.seen.append(where)
        if len(self.seen) == self.at:
            self.fire()

    def statement(self, sql: str) -> None:
        if sql.startswith("TRUNCATE"):
            self.table = sql.split()[1].strip('"')
            self.point(f"before {self.table}")
        elif sql.startswith(f"INSERT INTO {STATE_TABLE}") and self.table == "access_log":
            # The other tables' last moment before commit is no different from inside their copy.
            self.point(f"before the commit of {self.table}")
        elif sql == FIRST_AFTER_LOAD:
            self.point("before the final transaction")
        elif sql.startswith(f"DROP TABLE {STATE_TABLE}"):
            self.point("before the final commit")

    def progress(self, line: str) -> None:
        if line.startswith("moving access_log:"):
            self.point(f"inside access_log ({line.split(': ')[1]})")


@contextlib.contextmanager
def watching(faults: Faults):
    original = PgDatabase.execute

    def execute(self, statement, args=None):
        faults.statement(statement)
        return original(self, statement, args)

    PgDatabase.execute = execute
    try:
        yield
    finally:
        PgDatabase.execute = original


def run_move(source, target, faults: Faults | None = None):
    if faults is None:
        return move_database(source, target, **MOVE)
    with watching(faults):
        return move_database(source, target, faults.progress, **MOVE)


def target_state(settings) -> dict:
    """Schema, every table's rows (an md5 of all of them as text, in order), every sequence's position."""
    with connect_pg(settings) as db:
        state: dict = {"schema": read_schema(db)}
        for table in db.table_names():
            state[table] = db.query(f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                                    f'FROM "{table}" t')[0]
        for (seq,) in db.query("SELECT sequencename FROM pg_sequences ORDER BY 1"):
            state[f"sequence {seq}"] = db.query(f'SELECT last_value, is_called FROM "{seq}"')[0]
    return state


def assert_same(got: dict, want: dict, where: str) -> None:
    assert compare_schemas(want.pop("schema"), got.pop("schema")) == [], where
    assert got == want, where


def wait_backends_gone(pg: LocalPostgres, database: str) -> None:
    """The killed session's backend has exited (it held the move's advisory lock)."""
    deadline = time.monotonic() + 10
    with connect_pg(pg.superuser_settings()) as db:
        while db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                        (database,)) and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture(scope="module")
def reference(source, local_pg):
    """An uninterrupted move, and the fault points it passes."""
    name = "resume_reference"
    local_pg.create_database(name)
    faults = Faults()
    run_move(source, local_pg.superuser_settings(name), faults)
    state = target_state(local_pg.superuser_settings(name))
    local_pg.admin(f'DROP DATABASE "{name}" WITH (FORCE)')
    assert sum(p.startswith("inside access_log") for p in faults.seen) >= 4, faults.seen
    return state, faults.seen


def _interrupt_and_resume(pg: LocalPostgres, source, reference, at: int, fire, recover=lambda: None) -> None:
    state, points = reference
    name = "resume_run"
    pg.create_database(name)
    target = pg.superuser_settings(name)
    faults = Faults(at, lambda: fire(name))
    with pytest.raises(MigratorError) as failed:
        run_move(source, target, faults)
    assert len(faults.seen) >= at and faults.seen[at - 1] == points[at - 1], (at, faults.seen, failed.value)
    recover()
    wait_backends_gone(pg, name)
    result = run_move(source, target)
    assert result.resumed, points[at - 1]
    assert_same(target_state(target), dict(state), points[at - 1])


def _terminate(pg: LocalPostgres):
    def fire(database: str) -> None:
        pg.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 f"WHERE datname = '{database}' AND application_name = 'harbor-migrate'")
    return fire


def test_pg_connection_killed_at_every_point(source, local_pg, reference, capsys):
    points = reference[1]
    for at in range(1, len(points) + 1):
        _interrupt_and_resume(local_pg, source, reference, at, _terminate(local_pg))
    with capsys.disabled():
        print(f"\nmove fault injection (PostgreSQL connection killed): {len(points)} points tried, "
              "all resumed to the same database")


@pytest.fixture(scope="module")
def crash_pg():
    if not find_pg_bindir():
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): apt-get install postgresql")
    # synchronous_commit on, as in production: off (the test default) loses the last commits in a
    # crash by design, which would test PostgreSQL's settings rather than the move.
    pg = LocalPostgres({"synchronous_commit": "on"}).start()
    yield pg
    pg.destroy()


def test_pg_server_killed_at_every_point(source, crash_pg, reference, capsys):
    # Every point, as with the connection killed, on a cluster of its own (the session's serves
    # the other tests); a crash and its recovery cost about a second each.
    ref = (target_state_on(crash_pg, source), reference[1])
    points = reference[1]
    for at in range(1, len(points) + 1):
        _interrupt_and_resume(crash_pg, source, ref, at, lambda _db: crash_pg.kill9(), recover=crash_pg.start)
    with capsys.disabled():
        print(f"\nmove fault injection (PostgreSQL kill -9): {len(points)} points tried, "
              "all resumed to the same database")


def target_state_on(pg: LocalPostgres, source) -> dict:
    pg.create_database("resume_reference")
    run_move(source, pg.superuser_settings("resume_reference"))
    return target_state(pg.superuser_settings("resume_reference"))


def test_mysql_connection_killed(source, server_off, local_pg, reference, capsys):
    points = reference[1]
    chosen = [i + 1 for i, p in enumerate(points)
              if p in ("before access", "before access_log", "before schema_migrations") or p.startswith("inside access_log")]

    def fire(_database: str) -> None:
        ids = _mysql_sessions(server_off, source.database)
        assert ids
        for thread in ids:
            server_off.admin(f"KILL CONNECTION {thread}")

    for at in chosen:
        _interrupt_and_resume(local_pg, source, reference, at, fire)
    with capsys.disabled():
        print(f"\nmove fault injection (MySQL connection killed): {len(chosen)} points tried, "
              "all resumed to the same database")


def _mysql_sessions(server, database: str) -> list[int]:
    with connect(server.settings(database)) as db:
        return [int(r[0]) for r in db.query(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()", (database,))]


CHILD = """
import json, sys
from migrator.move.copy import move_database
from migrator.postgres.settings import PgSettings
from migrator.settings import ConnectionSettings
move_database(ConnectionSettings(**json.loads(sys.argv[1])), PgSettings.from_dsn(sys.argv[2]), batch_rows=200)
"""


def test_tool_killed(source, local_pg, reference, capsys):
    """SIGKILL of a child process running the move: after N finished tables, and inside the access_log COPY."""
    state, _ = reference
    moments = [("tables", n) for n in (1, 8, 15, 21)] + [("copy", "access_log")]
    for what, n in moments:
        name = "resume_tool"
        local_pg.create_database(name)
        target = local_pg.superuser_settings(name)
        child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(dataclasses.asdict(source)), target.dsn()], cwd=ROOT,
                                 env={**os.environ, "PYTHONPATH": ROOT}, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
        try:
            with connect_pg(local_pg.superuser_settings(name)) as watch:
                deadline = time.monotonic() + 60
                while child.poll() is None and time.monotonic() < deadline:
                    if what == "tables":
                        if watch.scalar("SELECT to_regclass(%s) IS NOT NULL", (STATE_TABLE,)) \
                                and watch.scalar(f"SELECT count(*) FROM {STATE_TABLE}") >= n:
                            break
                    elif watch.scalar("SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s",
                                      (f'COPY "{n}"%',)):
                        break
                    time.sleep(0.002)
        finally:
            child.send_signal(signal.SIGKILL)
            out = child.communicate()[0]
        assert child.returncode == -signal.SIGKILL, out.decode(errors="replace")
        wait_backends_gone(local_pg, name)
        run_move(source, target)
        assert_same(target_state(target), dict(state), f"tool killed at {what} {n}")
    with capsys.disabled():
        print(f"\nmove fault injection (the tool killed): {len(moments)} points tried, all resumed to the same database")
