"""What keeps a snapshot consistent and moving while Harbor may still write: the write
barrier, the metadata locks of our snapshot transaction, the stall detector for DDL, and
the garbage collector paused while the pieces stream."""
from __future__ import annotations

import contextlib
import gc
import re
from typing import Iterator

from ..errors import ClientsConnected, MigratorError
from ..mysql.connection import Database, connect, quote_ident as q
from ..settings import ConnectionSettings

LOCK_WAIT_SECONDS = 5       # how long LOCK TABLES waits for writers' transactions to end (writers queue behind it)
MDL_STALL_SECONDS = 5       # a dump client waiting this long for a table's metadata lock is stuck behind DDL
_DUMP_SELECT = "SELECT /*!40001 SQL_NO_CACHE */"  # how both dump clients begin reading a table's rows
_FROM_TABLE = re.compile(r"\sFROM\s+(`(?:[^`]|``)+`)")


class WriteBarrier:
    """``LOCK TABLES … READ`` on a connection of its own: writers wait, readers do not.

    Held only while our transaction and the dump client's open their snapshots, so
    both see the same rows; released as soon as the dump has started.
    """

    def __init__(self, settings: ConnectionSettings, tables: list[str]):
        self._db = connect(settings) if tables else None
        if self._db is not None:
            self._db.execute(f"SET SESSION lock_wait_timeout = {LOCK_WAIT_SECONDS}")
            try:
                self._db.execute("LOCK TABLES " + ", ".join(f"{q(t)} READ" for t in tables))
            except MigratorError as exc:
                self.release()
                if "1205" not in exc.message and "lock wait" not in exc.message.lower():
                    raise
                raise ClientsConnected(
                    f"the snapshot waited {LOCK_WAIT_SECONDS} s for other clients' open write transactions on "
                    f"`{settings.database}` (Harbor still running?): stop them, then run it again; nothing was "
                    "written") from None

    @property
    def held(self) -> bool:
        return self._db is not None

    def release(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            with contextlib.suppress(MigratorError):
                db.execute("UNLOCK TABLES")
            db.close()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while the pieces stream: a full collection walks
    every object of the process, and the dump makes no cycles to collect (its CPU is the
    snapshot's bottleneck on two cores)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def open_tables(db: Database, tables: list[str]) -> None:
    """Give our snapshot transaction a metadata lock on every table, held until it ends: DDL
    from others then waits for the snapshot instead of changing a table under the dump
    (an instant ADD COLUMN would otherwise go unnoticed). Done while the barrier is held,
    so no DDL can come between the snapshots opening and these locks."""
    for t in tables:
        db.query(f"SELECT 1 FROM {q(t)} LIMIT 0")


def stop_if_stuck_behind_ddl(db: Database) -> None:
    """Fail, rather than hang, when a dump client of ours waits for a table's metadata lock.

    That wait can only be behind another client's DDL (or LOCK TABLES … WRITE), and that
    statement waits for our snapshot, which holds every table's lock until the dump is
    done: neither would move before the other's lock_wait_timeout (a day by default).
    The waiting dump connections are killed (the other pieces stop at their next block);
    once our transaction ends, the DDL goes through.
    """
    waiting = db.query("SELECT ID, USER, TIME, INFO FROM information_schema.PROCESSLIST WHERE DB = %s AND STATE LIKE "
                       "'Waiting for table metadata lock%%'", (db.name,))
    ours = [(pid, info) for pid, user, secs, info in waiting
            if (info or "").startswith(_DUMP_SELECT) and user == db.settings.user
            and int(secs or 0) >= MDL_STALL_SECONDS]
    if not ours:
        return
    others = [f"connection {pid} ({user}): {' '.join((info or '').split())[:100]}"
              for pid, user, _, info in waiting if not (info or "").startswith(_DUMP_SELECT)]
    for pid, _ in ours:
        with contextlib.suppress(MigratorError):
            db.execute(f"KILL CONNECTION {int(pid)}")
    found = _FROM_TABLE.search(ours[0][1])
    table = found.group(1) if found else "a table"
    raise ClientsConnected(
        f"the snapshot's dump of {table} waited {MDL_STALL_SECONDS} s behind "
        + ("; ".join(others) if others else "another client's DDL or LOCK TABLES (not visible to this user)")
        + ", which itself waits for the snapshot: the snapshot stopped (nothing written) so that it can finish; "
        "take the snapshot again once it has")
