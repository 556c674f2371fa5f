"""Big tables after the upgrade, row by row against the snapshot's copy of them.

The audit log and the replication jobs are the tables that grow (millions of
rows, hundreds of thousands), so their "before" is not hashed when the snapshot
is taken: that work would lengthen every snapshot, and the snapshot's dump holds
every row already. Here both sides are rendered by the same dump client, in
key order, and merged; a row of the snapshot is first put into today's shape:

- ``access_log``: its user's name (from the snapshot's ``user`` rows, ``''`` when
  the user is gone, as the upgrade does) where ``user_id`` was (and today's rows
  without ``repo_tag`` for a snapshot from before 0.3.0);
- ``replication_job``: both sides cut down to the snapshot's columns, by name
  (1.5.0 adds ``job_uuid`` before the timestamps).

A reshaped row must then equal the live row byte for byte; a table that did not
exist at the snapshot's revision (replication_job before 0.3.0) is compared with no
rows. Memory stays flat: one statement of each side at a time.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any, Callable, Iterator

from ..archive.frames import check_dump_hash, dump_chunks
from ..archive.manifest import Manifest
from ..mysql import clients as dumpclient
from ..verdicts import Check, Verdict
from ..mysql.connection import Database
from ..mysql.dumptext import insert_statements, rows_of
from ..common.text import SHOWN
from ..errors import ExitCode, MigratorError, SnapshotInvalid
from ..schema.revisions import MODELS
from .changes import change_lines

_COLUMN = re.compile(r"^\s*`((?:[^`]|``)+)` ")
_USER = re.compile(rb"\((-?\d+),('(?:[^'\\]|\\.)*'|NULL)")
_FIELD = re.compile(rb"(?:[^,']|'(?:[^'\\]|\\.)*')+")  # one value: runs of plain bytes and quoted strings

Shape = Callable[[bytes], bytes]


def _same(row: bytes) -> bytes:
    return row


@dataclasses.dataclass(frozen=True)
class DumpedTable:
    """A table compared row by row: its check's name, and its key (its first column, an integer)."""

    name: str        # the check is data.<name>
    table: str
    key: str


TABLES = (DumpedTable("replication_jobs", "replication_job", "id"),
          DumpedTable("access_log", "access_log", "log_id"))


def ddl_columns(ddl: str) -> list[str]:
    return [m.group(1).replace("``", "`") for m in map(_COLUMN.match, ddl.split("\n")[1:]) if m]


def snapshot_ddl(manifest: Manifest, table: str) -> str | None:
    """The table's CREATE TABLE as the snapshot recorded it (None: not in the snapshot)."""
    entry = manifest.table(table)
    return entry.ddl if entry is not None else None


def fields(row: bytes) -> list[bytes]:
    """The values of one dumped row ``(…)`` as the client wrote them (quoted strings whole)."""
    return _FIELD.findall(row, 1, len(row) - 1)


def _rows(chunks, table: str) -> Iterator[bytes]:
    for name, values in insert_statements(chunks):
        if name == table:
            yield from rows_of(values)


def snapshot_rows(dump: pathlib.Path, manifest: Manifest, table: str) -> Iterator[bytes]:
    """The table's rows in the snapshot, reading only as far as its last frame."""
    yield from _rows(dump_chunks(dump, manifest.frames_of(table)), table)


def _user_names(dump: pathlib.Path, manifest: Manifest) -> dict[bytes, bytes]:
    """user_id -> username as the dump renders it (quoted), from the snapshot's user rows."""
    ddl = snapshot_ddl(manifest, "user") or ""
    if ddl_columns(ddl)[:2] != ["user_id", "username"]:
        raise SnapshotInvalid("the snapshot's user table does not start with user_id, username")
    names = {}
    for row in snapshot_rows(dump, manifest, "user"):
        m = _USER.match(row)
        if m:
            names[m.group(1)] = m.group(2)
    return names


def _picked(columns: list[str], wanted: list[str]) -> Shape:
    """A row cut down to ``wanted`` (every one of them among ``columns``), in that order."""
    at = [columns.index(c) for c in wanted]

    def pick(row: bytes) -> bytes:
        values = fields(row)
        return b"(" + b",".join([values[i] for i in at]) + b")"
    return pick


def _shapes(spec: DumpedTable, before: list[str], after: list[str], dump: pathlib.Path,
            manifest: Manifest) -> tuple[Shape, Shape] | None:
    """(snapshot row -> common shape, live row -> common shape), or None for shapes we do not know."""
    if before == after:
        return _same, _same
    if before[:1] != [spec.key] or after[:1] != [spec.key]:
        return None
    if spec.table == "access_log":
        if before[:2] == ["log_id", "user_id"] and after[:2] == ["log_id", "username"] \
                and set(before[2:]) <= set(after[2:]):
            names = _user_names(dump, manifest)

            def with_name(row: bytes) -> bytes:
                log_id, user_id, rest = row.split(b",", 2)
                return b"".join((log_id, b",", names.get(user_id, b"''"), b",", rest))
            # before 0.3.0 there was no repo_tag: today's rows without it
            return with_name, _same if after[2:] == before[2:] else _picked(after, after[:2] + before[2:])
        return None
    if not set(before) <= set(after):
        return None
    return _same, _picked(after, before)


def _key(row: bytes) -> int:
    return int(row[1:row.index(b",")])


def live_rows(db: Database, table: str) -> Iterator[bytes]:
    """The live rows as the snapshot's dump renders them (the same bytes in either charset the
    snapshot may have used for the table: they differ only for text that is not UTF-8)."""
    charset = dumpclient.table_dump_charsets(db, [table])[table]
    with dumpclient.dump_stream(db.settings, [table], dumpclient.ROWS_ONLY, doing=f"reading {table}",
                                charset=charset) as chunks:
        yield from _rows(chunks, table)


def _merge(before: Iterator[bytes], after: Iterator[bytes], shape_before: Shape,
           shape_after: Shape) -> dict[str, Any]:
    """Walk both sides in key order: counts, and the first keys missing, new and changed."""
    found: dict[str, Any] = {"before": 0, "now": 0, "missing": [], "new": [], "changed": [],
                             "counts": {"missing": 0, "new": 0, "changed": 0}}

    def note(kind: str, row: bytes) -> None:
        found["counts"][kind] += 1
        if len(found[kind]) < SHOWN:
            found[kind].append(_key(row))

    a = next(before, None)
    b = next(after, None)
    while a is not None or b is not None:
        ka = _key(a) if a is not None else None
        kb = _key(b) if b is not None else None
        if kb is None or (ka is not None and ka < kb):
            note("missing", a)
            found["before"] += 1
            a = next(before, None)
        elif ka is None or kb < ka:
            note("new", b)
            found["now"] += 1
            b = next(after, None)
        else:
            if shape_before(a) != shape_after(b):
                note("changed", b)
            found["before"] += 1
            found["now"] += 1
            a, b = next(before, None), next(after, None)
    return found


def compare_table(db: Database, manifest: Manifest, dump: pathlib.Path, spec: DumpedTable) -> Check:
    """``spec``'s table now against its rows in the snapshot's dump (whose hash was checked)."""
    name = f"data.{spec.name}"
    ddl = snapshot_ddl(manifest, spec.table)
    model = MODELS.get(manifest.revision or "")
    if ddl is None and (model is None or spec.table in model.table_names):
        return Check(name, Verdict.FAIL, f"the snapshot has no {spec.table} table",
                     exit_code=int(ExitCode.SNAPSHOT_INVALID))
    after = [r[0] for r in db.query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                                    "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (db.name, spec.table))]
    try:
        if ddl is None:  # created by a later revision: every row today is new
            shapes: tuple[Shape, Shape] | None = (_same, _same)
            before: Iterator[bytes] = iter(())
        else:
            shapes = _shapes(spec, ddl_columns(ddl), after, dump, manifest)
            before = snapshot_rows(dump, manifest, spec.table)
        if shapes is None:
            return Check(name, Verdict.WARN, f"not compared: the snapshot's {spec.table} columns "
                                            f"({', '.join(ddl_columns(ddl or ''))}) do not map onto today's "
                                            f"({', '.join(after)})")
        found = _merge(before, live_rows(db, spec.table), *shapes)
    except MigratorError as exc:
        return Check(name, Verdict.FAIL, f"cannot compare {spec.table}: {exc.message}", exit_code=exc.exit_code)
    counts = found["counts"]
    if not any(counts.values()):
        return Check(name, Verdict.OK, f"{found['before']} rows, as before the upgrade (row by row)")
    details = change_lines(spec.table, found, counts, key=f"{spec.key} ")
    return Check(name, Verdict.FAIL, f"differs from the snapshot ({found['before']} rows before, {found['now']} now)",
                 details, exit_code=int(ExitCode.VERIFY_FAILED))


def compare_dumped_tables(db: Database, manifest: Manifest, dump: pathlib.Path) -> list[Check]:
    """Each of ``TABLES`` against the snapshot's dump, once its file is found whole."""
    names = [f"data.{spec.name}" for spec in TABLES]
    if not dump.exists():
        return [Check(n, Verdict.FAIL, f"the snapshot's dump {dump} is missing: the audit log and the replication "
                                      "jobs are compared with its rows (keep NAME.sql.zst beside the manifest)",
                      exit_code=int(ExitCode.SNAPSHOT_INVALID)) for n in names]
    try:
        check_dump_hash(dump, manifest)
    except SnapshotInvalid as exc:
        return [Check(n, Verdict.FAIL, f"cannot compare with the snapshot's rows: {exc.message}",
                      exit_code=exc.exit_code) for n in names]
    return [compare_table(db, manifest, dump, spec) for spec in TABLES]
