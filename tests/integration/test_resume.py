"""Interrupt the upgrade at every statement, then run it again: the result must not differ.

Pass 1 kills the tool's connection (KILL from another session) right before
each statement the upgrade sends: every operation boundary, and every
statement inside the multi-statement operations (the access_log copy, the
transactional data moves) — i.e. the middle of each data move. Pass 2 kills
the server process itself (kill -9) at the same points and restarts it on the
same data directory. After each interruption the same upgrade runs again; the
final database must equal an uninterrupted run: schema and per-table row
checksums. The number of points tried is printed.
"""
from __future__ import annotations

import contextlib

import pytest
import sqlalchemy
import sqlalchemy.engine
import sqlalchemy.event

from migrator import api
from migrator.mysql.connection import Database, connect
from migrator.errors import MigratorError
from migrator.chain.executor import UpgradeOptions
from migrator.tools.local_server import LocalServer
from migrator.schema.diff import compare
from migrator.schema.introspect import introspect
from migrator.tools.seed import add_log_volume, seed_050
from migrator.snapshot.restore import restore_snapshot
from migrator.snapshot.take import take_snapshot
from tests.row_checksums import database_checksums
from tests.conftest import _need_server

pytestmark = pytest.mark.integration
FIXED_TIME = 1700000000  # new rows (metadata, triggers) get the same time in every run
OPTIONS = dict(fixed_time=FIXED_TIME, copy_chunk_rows=400)  # chunked copy: more points inside the data move


class Killer:
    """Counts the statements the upgrade sends once its run has started, and kills at the N-th.

    Statements are seen where they leave for the server: our ``Database.execute`` and, for
    alembic's own (its version table, the stamp after each revision), SQLAlchemy's
    ``before_cursor_execute``; the fault-injection seam lives here, not in the library.
    """

    def __init__(self, at: int | None, kill=None):
        self.at = at
        self.seen = 0
        self.kill = kill
        self.fired = False
        self.armed = False

    def journal(self, event: dict) -> None:  # passed to api.upgrade as its journal
        if event.get("event") == "run_start":
            self.armed = True

    def statement(self, thread_id: int) -> None:
        if not self.armed:
            return
        self.seen += 1
        if self.seen == self.at and not self.fired:
            self.fired = True
            self.kill(thread_id)


@contextlib.contextmanager
def watching(killer: Killer):
    original = Database.execute

    def execute(self, sql, args=None):
        killer.statement(self.conn.thread_id())
        return original(self, sql, args)

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        killer.statement(conn.connection.dbapi_connection.thread_id())

    Database.execute = execute
    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield
    finally:
        Database.execute = original
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", before_cursor_execute)


def _upgrade(settings, killer: Killer | None = None):
    if killer is None:
        return api.upgrade(settings, UpgradeOptions(**OPTIONS))
    with watching(killer):
        return api.upgrade(settings, UpgradeOptions(**OPTIONS), journal=killer.journal)


def _state(settings):
    with connect(settings) as db:
        return introspect(db), database_checksums(db)


@pytest.fixture(scope="module")
def start_snapshot(tmp_path_factory, server_off):
    """One 0.5.0 database with sample rows and 1,000 extra log rows, as a snapshot to restore per point."""
    server_off.ensure_running()
    server_off.create_database("resume_src")
    settings = server_off.settings("resume_src")
    with connect(settings) as db:
        seed_050(db)
        add_log_volume(db, 1000)
        path = take_snapshot(db, tmp_path_factory.mktemp("snap"))
    server_off.admin("DROP DATABASE resume_src")
    return path


def _reference(server, snapshot):
    settings = server.settings("resume_ref")
    restore_snapshot(snapshot, settings, force=True)
    counter = Killer(None)
    _upgrade(settings, counter)
    return _state(settings), counter.seen


def _same(a, b):
    schema_a, sums_a = a
    schema_b, sums_b = b
    assert compare(schema_a, schema_b) == []
    assert sums_a == sums_b


def test_kill_connection_at_every_statement(server_off, start_snapshot, capsys):
    server_off.ensure_running()
    reference, total = _reference(server_off, start_snapshot)
    assert total > 40
    tried = 0
    for point in range(1, total + 1):
        settings = server_off.settings("resume_run")
        restore_snapshot(start_snapshot, settings, force=True)

        def kill(thread_id):
            server_off.admin(f"KILL CONNECTION {thread_id}")

        killer = Killer(point, kill)
        with pytest.raises(MigratorError):
            _upgrade(settings, killer)
        assert killer.fired
        st = api.status(settings)
        assert st.start is not None, st.message  # never a state we cannot resume from
        _upgrade(settings)
        _same(_state(settings), reference)
        tried += 1
    with capsys.disabled():
        print(f"\nfault injection (connection killed): {tried} points tried, all resumed to the same database")
    assert tried == total


@pytest.fixture
def crash_server(start_snapshot):
    _need_server()
    server = LocalServer({"explicit-defaults-for-timestamp": "OFF"}).start()
    yield server
    server.destroy()


def test_kill_server_at_every_statement(crash_server, start_snapshot, capsys):
    reference, total = _reference(crash_server, start_snapshot)
    tried = 0
    for point in range(1, total + 1):
        settings = crash_server.settings("resume_run")
        restore_snapshot(start_snapshot, settings, force=True)
        killer = Killer(point, lambda thread_id: crash_server.kill9())
        with pytest.raises(MigratorError):
            _upgrade(settings, killer)
        assert killer.fired
        crash_server.start()
        _upgrade(settings)
        _same(_state(settings), reference)
        tried += 1
    with capsys.disabled():
        print(f"\nfault injection (server kill -9): {tried} points tried, all resumed to the same database")
    assert tried == total
