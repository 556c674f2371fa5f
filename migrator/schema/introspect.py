"""Read a live database's schema from information_schema into the model's terms.

MySQL and MariaDB spell the same thing differently (``int(11)`` vs ``int``,
``current_timestamp()`` vs ``CURRENT_TIMESTAMP``, quoted vs bare literal
defaults, ``utf8mb3`` vs ``utf8``); everything is normalised here so that the
comparison code never sees a dialect.
"""
from __future__ import annotations

import re
from collections import defaultdict

from ..mysql.connection import Database
from .model import CURRENT_TIMESTAMP, Column, ForeignKey, Index, Schema, Table

_INT_WIDTH = re.compile(r"^(tinyint|smallint|mediumint|int|integer|bigint)\((\d+)\)")


def normalise_type(column_type: str) -> str:
    t = column_type.lower().strip()
    m = _INT_WIDTH.match(t)
    if m and not (m.group(1) == "tinyint" and m.group(2) == "1"):
        t = m.group(1) + t[m.end():]
    if t.startswith("integer"):
        t = "int" + t[len("integer"):]
    return t


def normalise_default(raw: object, nullable: bool) -> str | None:
    if raw is None:
        return None
    text = str(raw)
    if text.upper() == "NULL":          # MariaDB spells DEFAULT NULL as the word NULL
        return None
    if text.lower() in ("current_timestamp()", "current_timestamp", "now()"):
        return CURRENT_TIMESTAMP
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1].replace("''", "'")
    return text


def normalise_collation(name: str | None) -> str | None:
    if name is None:
        return None
    return name.replace("utf8mb3_", "utf8_")


def introspect(db: Database, tables: list[str] | None = None) -> Schema:
    """The live schema of ``db`` (or of the named tables only)."""
    schema = db.name
    where, args = "TABLE_SCHEMA = %s", [schema]
    if tables is not None:
        if not tables:
            return Schema({})
        where += " AND TABLE_NAME IN (" + ",".join(["%s"] * len(tables)) + ")"
        args += list(tables)

    table_rows = db.query(
        f"SELECT TABLE_NAME, ENGINE, TABLE_COLLATION FROM information_schema.TABLES "
        f"WHERE {where} AND TABLE_TYPE = 'BASE TABLE'", args)
    columns: dict[str, list[Column]] = defaultdict(list)
    for name, col, ctype, nullable, default, extra in db.query(
            f"SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT, EXTRA "
            f"FROM information_schema.COLUMNS WHERE {where} ORDER BY TABLE_NAME, ORDINAL_POSITION", args):
        is_null = nullable == "YES"
        extra = (extra or "").lower()
        columns[name].append(Column(col, normalise_type(ctype), is_null, normalise_default(default, is_null),
                                    "on update" in extra, "auto_increment" in extra))

    index_cols: dict[tuple[str, str], list[tuple[int, str, bool]]] = defaultdict(list)
    for name, index, col, seq, non_unique in db.query(
            f"SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SEQ_IN_INDEX, NON_UNIQUE "
            f"FROM information_schema.STATISTICS WHERE {where}", args):
        index_cols[(name, index)].append((int(seq), col, not int(non_unique)))
    indexes: dict[str, list[Index]] = defaultdict(list)
    for (name, index), cols in index_cols.items():
        cols.sort()
        indexes[name].append(Index(index, tuple(c for _, c, _ in cols), unique=cols[0][2]))

    fk_cols: dict[tuple[str, str], list[tuple[int, str, str, str]]] = defaultdict(list)
    for name, cname, col, pos, rtable, rcol in db.query(
            f"SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, ORDINAL_POSITION, REFERENCED_TABLE_NAME, "
            f"REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
            f"WHERE {where} AND REFERENCED_TABLE_NAME IS NOT NULL", args):
        fk_cols[(name, cname)].append((int(pos), col, rtable, rcol))
    fks: dict[str, list[ForeignKey]] = defaultdict(list)
    for (name, cname), cols in fk_cols.items():
        cols.sort()
        fks[name].append(ForeignKey(cname, tuple(c[1] for c in cols), cols[0][2], tuple(c[3] for c in cols)))

    result = {}
    for name, engine, collation in table_rows:
        result[name] = Table(
            name, tuple(columns[name]),
            tuple(sorted(indexes[name], key=lambda i: (not i.primary, i.name))),
            tuple(sorted(fks[name], key=lambda f: f.name)),
            engine, normalise_collation(collation))
    return Schema(result)
