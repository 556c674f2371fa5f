"""The audit log after the upgrade, row by row against the snapshot's copy of it.

access_log is the one big table, so its "before" is not hashed when the snapshot
is taken (that would cost as much as the dump itself): the snapshot's dump holds
every row already. Here both sides are rendered by the same dump client, in
``log_id`` order, and merged: a row of the snapshot becomes its 1.2.0+ shape by
putting its user's name (from the snapshot's ``user`` rows, ``''`` when the user
is gone, as the upgrade does) where ``user_id`` was, and must then equal the live
row byte for byte. Memory stays flat: one statement of each side at a time.
"""
from __future__ import annotations

import pathlib
import re
from typing import Any, Callable, Iterator

from .. import dumpclient
from ..checks import Check, Status
from ..db import Database
from ..dumpstream import insert_statements, rows_of
from ..errors import ExitCode, MigratorError, SnapshotInvalid

TABLE = "access_log"
SHOWN = 20
_COLUMN = re.compile(r"^\s*`((?:[^`]|``)+)` ")
_USER = re.compile(rb"\((-?\d+),('(?:[^'\\]|\\.)*'|NULL)")


def _columns(ddl: str) -> list[str]:
    return [m.group(1).replace("``", "`") for m in map(_COLUMN.match, ddl.split("\n")[1:]) if m]


def _rows(chunks, table: str) -> Iterator[bytes]:
    for name, values in insert_statements(chunks):
        if name == table:
            yield from rows_of(values)


def _user_names(dump: pathlib.Path, manifest: dict[str, Any]) -> dict[bytes, bytes]:
    """user_id -> username as the dump renders it (quoted), from the snapshot's user rows."""
    from ..snapshot import dump_chunks

    ddl = {t["name"]: t["ddl"] for t in manifest["tables"]}.get("user", "")
    if _columns(ddl)[:2] != ["user_id", "username"]:
        raise SnapshotInvalid("the snapshot's user table does not start with user_id, username")
    names = {}
    for row in _rows(dump_chunks(dump), "user"):
        m = _USER.match(row)
        if m:
            names[m.group(1)] = m.group(2)
    return names


def _reshape(before: list[str], after: list[str], dump: pathlib.Path,
             manifest: dict[str, Any]) -> Callable[[bytes], bytes] | None:
    """How a snapshot row becomes a live row, or None when the shapes are not ones we know."""
    if before == after:
        return lambda row: row
    if before[:2] == ["log_id", "user_id"] and after == ["log_id", "username"] + before[2:]:
        names = _user_names(dump, manifest)

        def with_name(row: bytes) -> bytes:
            log_id, user_id, rest = row.split(b",", 2)
            return b"".join((log_id, b",", names.get(user_id, b"''"), b",", rest))
        return with_name
    return None


def _log_id(row: bytes) -> int:
    return int(row[1:row.index(b",")])


def _live_rows(db: Database) -> Iterator[bytes]:
    """The live rows as the snapshot's dump renders them (the same bytes in either charset the
    snapshot may have used for its access_log: they differ only for text that is not UTF-8)."""
    charset = dumpclient.table_dump_charsets(db, [TABLE])[TABLE]
    with dumpclient.dump_stream(db.settings, [TABLE], dumpclient.ROWS_ONLY, doing="reading the audit log",
                                charset=charset) as chunks:
        yield from _rows(chunks, TABLE)


def _merge(before: Iterator[bytes], after: Iterator[bytes], reshape: Callable[[bytes], bytes]) -> dict[str, Any]:
    """Walk both sides in log_id order: counts, and the first ids missing, new and changed."""
    found: dict[str, Any] = {"before": 0, "now": 0, "missing": [], "new": [], "changed": [],
                             "counts": {"missing": 0, "new": 0, "changed": 0}}

    def note(kind: str, row: bytes) -> None:
        found["counts"][kind] += 1
        if len(found[kind]) < SHOWN:
            found[kind].append(_log_id(row))

    a = next(before, None)
    b = next(after, None)
    while a is not None or b is not None:
        ka = _log_id(a) if a is not None else None
        kb = _log_id(b) if b is not None else None
        if kb is None or (ka is not None and ka < kb):
            note("missing", a)
            found["before"] += 1
            a = next(before, None)
        elif ka is None or kb < ka:
            note("new", b)
            found["now"] += 1
            b = next(after, None)
        else:
            if reshape(a) != b:
                note("changed", b)
            found["before"] += 1
            found["now"] += 1
            a, b = next(before, None), next(after, None)
    return found


def compare_audit_log(db: Database, manifest: dict[str, Any], dump: pathlib.Path) -> Check:
    from ..snapshot import check_dump_hash, dump_chunks

    name = f"data.{TABLE}"
    ddl = {t["name"]: t["ddl"] for t in manifest["tables"]}.get(TABLE)
    if ddl is None:
        return Check(name, Status.FAIL, "the snapshot has no access_log table",
                     exit_code=int(ExitCode.SNAPSHOT_INVALID))
    if not dump.exists():
        return Check(name, Status.FAIL, f"the snapshot's dump {dump} is missing: the audit log is compared with "
                                        "its rows (keep NAME.sql.zst beside the manifest)",
                     exit_code=int(ExitCode.SNAPSHOT_INVALID))
    try:
        check_dump_hash(dump, manifest)
    except SnapshotInvalid as exc:
        return Check(name, Status.FAIL, f"cannot compare the audit log: {exc.message}", exit_code=exc.exit_code)
    after = [r[0] for r in db.query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                                    "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (db.name, TABLE))]
    try:
        reshape = _reshape(_columns(ddl), after, dump, manifest)
        if reshape is None:
            return Check(name, Status.WARN, f"not compared: the snapshot's access_log columns "
                                            f"({', '.join(_columns(ddl))}) do not map onto today's "
                                            f"({', '.join(after)})")
        found = _merge(_rows(dump_chunks(dump), TABLE), _live_rows(db), reshape)
    except MigratorError as exc:
        return Check(name, Status.FAIL, f"cannot compare the audit log: {exc.message}", exit_code=exc.exit_code)
    counts = found["counts"]
    if not any(counts.values()):
        return Check(name, Status.OK, f"{found['before']} rows, as before the upgrade (row by row)")
    details = [f"{TABLE}: {counts[kind]} {kind}: log_id " + ", ".join(map(str, found[kind]))
               + (f" … (+{counts[kind] - len(found[kind])})" if counts[kind] > len(found[kind]) else "")
               for kind in ("missing", "new", "changed") if counts[kind]]
    return Check(name, Status.FAIL, f"differs from the snapshot ({found['before']} rows before, {found['now']} now)",
                 details, exit_code=int(ExitCode.VERIFY_FAILED))
