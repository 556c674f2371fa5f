"""An independent oracle for tests: per-table row count and checksum, rendered by the server.

The product's own snapshot digests come from the dump client's text; tests that ask
"is this database identical to that one" (restore, resume after a crash, the alembic
path) use this second, unrelated rendering, so a fault in one cannot hide in the other.
Rows are rendered by the server (``QUOTE``/``CONCAT``), joined a key window at a time
(``GROUP_CONCAT``), and hashed here.
"""
from __future__ import annotations

import hashlib
from typing import Iterator

from migrator.mysql.connection import Database, quote_ident as q

_STRING_TYPES = ("char", "varchar", "text", "tinytext", "mediumtext", "longtext", "enum", "set")
_BINARY_TYPES = ("binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob", "bit")
def _columns(db: Database, table: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in db.query(
        "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
        "ORDER BY ORDINAL_POSITION", (db.name, table))]


def _order_by(db: Database, table: str, columns: list[tuple[str, str]]) -> str:
    pk = [r[0] for r in db.query(
        "SELECT COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
        "AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX", (db.name, table))]
    return ", ".join(q(c) for c in (pk or [c for c, _ in columns]))


def row_expression(columns: list[tuple[str, str]]) -> str:
    """SQL that renders one row as a VALUES tuple on one line, escaped by the server."""
    parts = []
    for name, data_type in columns:
        col = q(name)
        t = data_type.lower()
        if t in _STRING_TYPES:
            parts.append(rf"REPLACE(REPLACE(QUOTE({col}), '\n', '\\n'), '\r', '\\r')")
        elif t in _BINARY_TYPES:
            parts.append(f"IFNULL(CONCAT('0x', HEX({col})), 'NULL')")
        elif t in ("int", "tinyint", "smallint", "mediumint", "bigint", "decimal", "float", "double"):
            parts.append(f"IFNULL({col}, 'NULL')")
        else:
            parts.append(f"QUOTE({col})")
    return "CAST(CONCAT('(', " + ", ',', ".join(parts) + ", ')') AS BINARY)"


CHUNK_BYTES = 512 * 1024  # one chunk of rows from the server: well under any max_allowed_packet


def _row_chunks(db: Database, table: str) -> Iterator[tuple[int, bytes]]:
    """(rows, b"row\nrow\n…row") in primary-key order, a chunk per round trip.

    The server renders and joins the rows (GROUP_CONCAT over a key window), so
    Python handles a few hundred blobs instead of a million tuples. Tables without
    a single integer key (small in Harbor) come row by row.
    """
    columns = _columns(db, table)
    expr = row_expression(columns)
    order = _order_by(db, table, columns)
    pk = [c for c in order.split(", ")]
    types = dict(columns)
    key = pk[0].strip("`") if len(pk) == 1 else None
    if key is None or types.get(key, "").lower() not in ("int", "bigint", "mediumint", "smallint", "tinyint"):
        rows: list[bytes] = []
        for (line,) in db.stream(f"SELECT {expr} FROM {q(table)} ORDER BY {order}", batch=20000):
            rows.append(line)
            if len(rows) >= 5000:
                yield len(rows), b"\n".join(rows)
                rows = []
        if rows:
            yield len(rows), b"\n".join(rows)
        return
    lo, hi, n, avg = db.query(f"SELECT MIN({q(key)}), MAX({q(key)}), COUNT(*), AVG(LENGTH({expr})) FROM {q(table)}")[0]
    if not n:
        return
    density = n / max(int(hi) - int(lo) + 1, 1)
    window = max(1, int(CHUNK_BYTES / max(float(avg or 100), 1.0) / max(density, 1e-6)))
    db.execute("SET SESSION group_concat_max_len = 1073741824")
    start = int(lo) - 1
    while start < int(hi):
        end = start + window
        count, blob = db.query(f"SELECT COUNT(*), GROUP_CONCAT({expr} ORDER BY {q(key)} SEPARATOR '\\n') "
                               f"FROM {q(table)} WHERE {q(key)} > {start} AND {q(key)} <= {end}")[0]
        if count:
            yield int(count), blob
        start = end


def table_checksum(db: Database, table: str) -> tuple[int, str]:
    """(rows, sha256) of a live table, comparable with a snapshot's manifest."""
    digest = hashlib.sha256()
    rows = 0
    for n, blob in _row_chunks(db, table):
        digest.update(blob)
        digest.update(b"\n")
        rows += n
    return rows, digest.hexdigest()


def database_checksums(db: Database, tables: list[str] | None = None) -> dict[str, tuple[int, str]]:
    return {t: table_checksum(db, t) for t in (tables if tables is not None else db.table_names())}


