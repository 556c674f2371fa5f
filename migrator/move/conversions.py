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
- Text and numbers arrive byte for byte, apostrophes and backslashes included.

The copy engine does not convert in Python: ``copy_line_sql`` renders these same
rules as one MySQL expression per table that yields each row as one line of
PostgreSQL's COPY text format (fields joined by tabs, ``\\N`` for NULL,
backslash, tab, newline and carriage return escaped, text as UTF-8), so the
server formats and Python only moves bytes. ``row_converter`` states the same
rules on driver values (the tests compare the two).
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
from .target_schema import ALEMBIC_VERSION, BIGINT, BOOL, INT, SCHEMA_MIGRATIONS_ROW, SMALLINT, TABLES, TS, Table

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
    numeric: bool = False   # an integer target: its text needs no escaping


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
                            c.not_null or c.serial, c.serial or c.type in (INT, SMALLINT, BIGINT))
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


# COPY text format (PostgreSQL's documentation, "Text Format"): these four escaped, NULL as \N.
# The literals below are MySQL strings in the reader's session, whose sql_mode has no
# NO_BACKSLASH_ESCAPES (mysql/connection.SESSION_SQL_MODE): '\\\\' is one backslash.
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))
_NULL = "'\\\\N'"
_ZERO_DATES = (ZERO_DATE, ZERO_DATE[:10])


def _mysql_literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''").replace("\t", "\\t").replace(
        "\n", "\\n").replace("\r", "\\r") + "'"


def _field_sql(col: ColumnMove) -> str:
    """One column as its COPY text field (never NULL: CONCAT_WS would drop the field)."""
    c = "`" + col.source.replace("`", "``") + "`"
    if col.kind == "bool":      # 0 false, anything else true; NULL false where 1.6.0 says NOT NULL
        return f"IF({c} IS NULL, {_mysql_literal('f') if col.not_null else _NULL}, IF({c} <> 0, 't', 'f'))"
    if col.kind == "time":      # to the second as read in the UTC session; the zero date as Harbor writes it
        text = f"CAST({c} AS CHAR)"
        zero = ", ".join(_mysql_literal(z) for z in _ZERO_DATES)
        return (f"IF({c} IS NULL, {_NULL}, IF({text} IN ({zero}), "
                f"{_mysql_literal(ZERO_DATE_TARGET.isoformat(' '))}, {text}))")
    if col.numeric:
        return f"IFNULL({c}, {_NULL})"
    text = f"CONVERT({c} USING utf8mb4)"
    for raw, escaped in _ESCAPES:
        text = f"REPLACE({text}, {_mysql_literal(raw)}, {_mysql_literal(escaped)})"
    return f"IFNULL({text}, {_NULL})"


def copy_line_sql(move: TableMove) -> str:
    """A MySQL expression giving each source row as one line of COPY text (no newline), as bytes.

    The same decisions as ``row_converter``, made by the server: a binary
    result, so the driver hands the UTF-8 bytes over without decoding them.
    An invalid date other than the zero date reaches PostgreSQL as its text and
    is refused there, naming the table, line and column.
    """
    if move.source is None:
        raise ValueError(f"{move.name} has no source table")
    fields = ", ".join(_field_sql(col) for col in move.columns)
    return f"CAST(CONVERT(CONCAT_WS('\\t', {fields}) USING utf8mb4) AS BINARY)"


def by_name(name: str) -> TableMove:
    return MOVES_BY_NAME[name]

