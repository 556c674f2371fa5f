"""Harbor 1.5.0 on MySQL -> Harbor 1.6.0 on PostgreSQL: what each column becomes, decided once.

- Table ``user`` becomes ``harbor_user``; access_log's ``GUID`` becomes ``guid``. Columns are
  matched by name, never by position: after Harbor's own chain access_log's columns
  are not in fresh order (the reason Harbor's converter loses every log row).
- A PostgreSQL ``boolean`` column takes MySQL's tinyint flag: 0 is false, any other
  value true (what MySQL's own ``IF(flag, …)`` means). A NULL where 1.6.0 says NOT NULL
  (``user.sysadmin_flag`` is nullable on MySQL) is false: not an administrator.
- A ``timestamp`` keeps its value to the second. The MySQL side is read in a UTC
  session (what ``mysqldump``, and so Harbor's own converter, reads), the value
  travels as a naive datetime and lands in a ``timestamp without time zone``
  column, where no session TimeZone applies. MySQL's zero date becomes
  ``0001-01-01 00:00:00``, as Harbor's converter writes it; any other invalid
  date stops the move naming its row.
- Text and numbers go as the driver reads them, as values (no dump text, no
  escaping), so every character arrives as it was, apostrophes and backslashes
  included.
- What 1.6.0 adds: ``harbor_label.deleted`` takes its default (false),
  ``admin_job`` starts empty, ``schema_migrations`` holds (1, false) and
  ``alembic_version`` exactly one row, ``1.6.0`` (harbor-facts §2.9: Harbor 1.7's core
  needs both so).

Pure code: no server, no driver; the copy engine applies it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Sequence

from ..errors import DataConflict, UnknownVersion
from .target_schema import ALEMBIC_VERSION, BOOL, SCHEMA_MIGRATIONS_ROW, TABLES, TS, Table

ZERO_DATE = "0000-00-00 00:00:00"
ZERO_DATE_TARGET = dt.datetime(1, 1, 1, 0, 0, 0)
SOURCE_REVISION = "1.5.0"

# Target table -> source table, where the names differ.
RENAMED_TABLES = {"harbor_user": "user"}
# (target table, target column) -> source column, where the names differ.
RENAMED_COLUMNS = {("access_log", "guid"): "GUID"}
# Target columns that 1.6.0 adds: not read from MySQL, their default applies.
ADDED_COLUMNS = {("harbor_label", "deleted")}
# Target tables whose rows are not MySQL's: 1.6.0's own content.
GENERATED_ROWS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "admin_job": (),
    "alembic_version": ((ALEMBIC_VERSION,),),
    "schema_migrations": (SCHEMA_MIGRATIONS_ROW,),
}


@dataclasses.dataclass(frozen=True)
class ColumnMove:
    target: str
    source: str
    kind: str               # "copy", "bool" or "time"
    not_null: bool = False


@dataclasses.dataclass(frozen=True)
class TableMove:
    """One target table: where its rows come from and how each column converts."""

    target: Table
    source: str | None                      # None: rows generated (GENERATED_ROWS)
    columns: tuple[ColumnMove, ...]

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def target_columns(self) -> tuple[str, ...]:
        return tuple(c.target for c in self.columns)

    @property
    def source_columns(self) -> tuple[str, ...]:
        return tuple(c.source for c in self.columns)

    @property
    def key_index(self) -> int | None:
        """Position of the primary key's (first) column in the rows, for ordering and messages."""
        if not self.target.primary_key:
            return None
        return self.target_columns.index(self.target.primary_key[0])

    @property
    def generated_rows(self) -> tuple[tuple[Any, ...], ...]:
        return GENERATED_ROWS.get(self.name, ())


def _kind(type_: str) -> str:
    return "bool" if type_ == BOOL else "time" if type_ == TS else "copy"


def table_move(table: Table) -> TableMove:
    if table.name in GENERATED_ROWS:
        cols = tuple(ColumnMove(c.name, c.name, "copy", c.not_null) for c in table.columns)
        return TableMove(table, None, cols)
    cols = tuple(ColumnMove(c.name, RENAMED_COLUMNS.get((table.name, c.name), c.name), _kind(c.type),
                            c.not_null or c.serial)
                 for c in table.columns if (table.name, c.name) not in ADDED_COLUMNS)
    return TableMove(table, RENAMED_TABLES.get(table.name, table.name), cols)


MOVES: tuple[TableMove, ...] = tuple(table_move(t) for t in TABLES)
MOVES_BY_NAME = {m.name: m for m in MOVES}
SOURCE_TABLES = tuple(m.source for m in MOVES if m.source) + ("alembic_version",)


def check_source_columns(move: TableMove, live: Sequence[str]) -> None:
    """The MySQL table must have exactly the 1.5.0 columns (any order): none lost, none left behind."""
    want = {c.lower() for c in move.source_columns}
    have = {c.lower() for c in live}
    if not have:
        raise UnknownVersion(f"the source has no table {move.source!r}: it is not a Harbor 1.5.0 database "
                             "(upgrade it to 1.5.0 first)")
    missing, extra = sorted(want - have), sorted(have - want)
    if missing or extra:
        raise UnknownVersion(
            f"the source table {move.source!r} is not as Harbor 1.5.0 has it"
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + (f"; not in 1.6.0 (its data would be lost): {', '.join(extra)}" if extra else "")
            + " — check the database with `harbor-migrate status`")


def to_bool(value: Any, not_null: bool) -> bool | None:
    if value is None:
        return False if not_null else None
    return bool(int(value))


def to_timestamp(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    text = value.decode("ascii") if isinstance(value, bytes) else str(value)
    if text == ZERO_DATE or text == ZERO_DATE[:10]:
        return ZERO_DATE_TARGET
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid date {text!r}") from None


def row_converter(move: TableMove) -> Callable[[Sequence[Any]], tuple]:
    """A function from a MySQL row (in ``move.source_columns`` order) to the PostgreSQL row.

    Raises DataConflict naming the table, the row's key and the column for a
    value 1.6.0 cannot hold.
    """
    steps: list[tuple[int, Callable[[Any], Any]]] = []
    for i, col in enumerate(move.columns):
        if col.kind == "bool":
            steps.append((i, (lambda nn: lambda v: to_bool(v, nn))(col.not_null)))
        elif col.kind == "time":
            steps.append((i, to_timestamp))
    if not steps:
        return tuple
    key = move.key_index

    def convert(row: Sequence[Any]) -> tuple:
        out = list(row)
        for i, fn in steps:
            try:
                out[i] = fn(out[i])
            except (ValueError, TypeError) as exc:
                where = f" row {move.target_columns[key]}={row[key]!r}" if key is not None else ""
                raise DataConflict(f"{move.source}.{move.columns[i].source}{where}: {exc}, which Harbor 1.6.0 "
                                   "cannot hold — correct the row on MySQL, then move again") from None
        return tuple(out)

    return convert


def by_name(name: str) -> TableMove:
    return MOVES_BY_NAME[name]

