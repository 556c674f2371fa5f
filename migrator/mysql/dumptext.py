"""Reading and reshaping the SQL text that ``mariadb-dump`` / ``mysqldump`` write.

Two facts of that format carry everything here: a value never holds a raw
newline (the client escapes it as ``\\n``), so an ``INSERT`` statement ends at
the first ``;\\n`` and a raw newline inside it separates two rows; and
statements are split by size, not by meaning. So:

- ``insert_statements`` finds each ``INSERT`` with plain ``bytes.find``;
- ``TableScan`` counts and hashes a table's rows independently of how they were split
  into statements and lines (MariaDB's client puts one row per line, MySQL's
  one statement per line), so the digest of a snapshot, of a dump of the
  restored table, or of another client's dump of the same rows agree;
- ``strip_secondary_indexes`` takes plain indexes and foreign keys out of each
  ``CREATE TABLE`` of a reload, so they are built once after the rows (sorted,
  not row by row).
"""
from __future__ import annotations

import hashlib
import re
from typing import Iterable, Iterator

_INSERT = b"\nINSERT INTO `"
_VALUES = b"` VALUES"
_END = b";\n"
_ROW = re.compile(rb"\((?:[^'()]+|'(?:[^'\\]|\\.)*')*\)", re.S)


_SEMICOLON_MISSES = 64


def _statement_end(buf: bytes, pos: int) -> int:
    """``buf.find(b";\\n", pos)``, found through the ``;`` alone: a one-byte find is a
    ``memchr`` and ``;`` is rare inside rows, so this reads the rows much faster
    (docs/benchmarks.md). Rows full of ``;`` fall back to the two-byte find after a few
    misses."""
    for _ in range(_SEMICOLON_MISSES):
        i = buf.find(b";", pos)
        if i < 0 or i + 1 >= len(buf):
            return -1
        if buf[i + 1] == 0x0A:
            return i
        pos = i + 1
    return buf.find(_END, pos)


def split_inserts(chunks: Iterable[bytes]) -> Iterator[tuple[str | None, bytes]]:
    """The dump stream as (table, text) pieces, in order: each INSERT statement whole, from
    ``INSERT`` to its ``;\\n``, with its table; everything between them (table None) in pieces."""
    buf = b""
    pos = 0       # where the unread part of buf begins (buf[pos - 1] is kept: a marker starts with it)
    start = -1    # the INSERT being read, when its end is not in buf yet
    scanned = 0   # how far that INSERT has been searched for its end
    for chunk in chunks:
        cut = start if start >= 0 else max(pos - 1, 0)
        buf, pos, scanned = buf[cut:] + chunk, pos - cut, scanned - cut
        if start >= 0:
            start = 0
        while True:
            if start < 0:
                i = buf.find(_INSERT, max(pos - 1, 0))
                if i < 0:
                    keep = max(pos, len(buf) - len(_INSERT) + 1)
                    if keep > pos:
                        yield None, buf[pos:keep]
                    pos = keep
                    break
                if i + 1 > pos:
                    yield None, buf[pos:i + 1]
                start = scanned = i + 1
            end = buf.find(_END, scanned)
            if end < 0:
                scanned = max(start, len(buf) - 1)
                break
            name_end = buf.find(_VALUES, start + len(_INSERT) - 1, end)
            table = buf[start + len(_INSERT) - 1:name_end].replace(b"``", b"`").decode("utf-8")
            yield table, buf[start:end + 2]
            pos, start = end + 2, -1
    rest = buf[start if start >= 0 else pos:]
    if rest:
        yield None, rest


def insert_statements(chunks: Iterable[bytes]) -> Iterator[tuple[str, bytes]]:
    """(table, values) for each INSERT of a dump stream; ``values`` is the text after
    ``VALUES`` without the final ``;``. Everything else in the stream is skipped."""
    for table, text in split_inserts(chunks):
        if table is not None:
            yield table, text[text.index(_VALUES) + len(_VALUES):-2]


def rows_of(values: bytes) -> list[bytes]:
    """The row tuples of one INSERT's VALUES text, each ``(…)`` without separators."""
    values = values.strip()
    if b"\n" in values:  # one row per line
        return [line.rstrip(b",") for line in values.split(b"\n")]
    return _ROW.findall(values)


class TableScan:
    """Row count and SHA-256 of each table's rows in a dump stream, fed chunk by chunk.

    The digest covers the rows in the form MariaDB's client writes them, one per line
    (``row,\\nrow,\\n…row``) across all of a table's statements, so it does not depend on
    where the statements were split. Such statements are hashed and counted in place, as
    they stream by; a statement in MySQL's one-line form is split into rows first.
    (It finds the same statement boundaries as ``split_inserts`` but never copies a
    statement: built on that, a snapshot spent more CPU; docs/benchmarks.md.)
    """

    def __init__(self) -> None:
        self.rows: dict[str, int] = {}
        self._sha: dict[str, "hashlib._Hash"] = {}
        self._tail = b""
        self._table: str | None = None   # inside an INSERT of this table
        self._one_line: list[bytes] | None = None  # the pieces of a one-line INSERT

    def hexdigest(self, table: str) -> str:
        return (self._sha.get(table) or hashlib.sha256()).hexdigest()

    def _begin(self, table: str) -> "hashlib._Hash":
        sha = self._sha.get(table)
        if sha is None:
            sha = self._sha[table] = hashlib.sha256()
            self.rows[table] = 0
        else:
            sha.update(b",\n")
        return sha

    def feed(self, chunk: bytes) -> None:
        buf = self._tail + chunk if self._tail else chunk
        view = memoryview(buf)
        pos = 0
        while True:
            if self._table is None:
                start = buf.find(_INSERT, pos)
                if start < 0:
                    self._tail = buf[max(pos, len(buf) - len(_INSERT)):]
                    return
                name_end = buf.find(_VALUES, start + len(_INSERT))
                if name_end < 0 or name_end + len(_VALUES) >= len(buf):
                    self._tail = buf[start:]
                    return
                self._table = buf[start + len(_INSERT):name_end].replace(b"``", b"`").decode("utf-8")
                pos = name_end + len(_VALUES)
                if buf[pos] == 0x0A:  # "VALUES\n": one row per line
                    pos += 1
                    self._begin(self._table)
                else:
                    self._one_line = []
            end = _statement_end(buf, pos)
            # without the end, all but a trailing ";" (it may start the end mark) is the table's
            stop = end if end >= 0 else max(pos, len(buf) - (buf[-1] == 0x3B))
            if self._one_line is None:
                self._sha[self._table].update(view[pos:stop])
                self.rows[self._table] += buf.count(b"\n", pos, stop) + (end >= 0)
            else:
                self._one_line.append(buf[pos:stop])
                if end >= 0:
                    rows = rows_of(b"".join(self._one_line))
                    self._begin(self._table).update(b",\n".join(rows))
                    self.rows[self._table] += len(rows)
                    self._one_line = None
            if end < 0:
                self._tail = buf[stop:]  # mostly empty: the next chunk is then read without a copy
                return
            self._table, pos = None, end + 1

    def consume(self, chunks: Iterable[bytes]) -> "TableScan":
        for chunk in chunks:
            self.feed(chunk)
        return self

    def result(self, tables: Iterable[str]) -> dict[str, tuple[int, str]]:
        """table -> (rows, sha256), for each of ``tables`` (no INSERT: no rows)."""
        return {t: (self.rows.get(t, 0), self.hexdigest(t)) for t in tables}


# -- reload speed: secondary indexes and foreign keys after the rows ----------------------
_CREATE = b"\nCREATE TABLE `"
_DEFERRABLE = re.compile(r"^\s*(KEY `|CONSTRAINT `(?:[^`]|``)*` FOREIGN KEY)")


def split_create_table(ddl: str) -> tuple[str, list[str]]:
    """(CREATE TABLE without plain KEYs and foreign keys, the ``ADD …`` clauses that restore them).

    Primary and unique keys stay (a reload must keep them enforced); adding the rest
    later, in their original order, gives back the same ``SHOW CREATE TABLE``.
    """
    lines = ddl.split("\n")
    close = next((n for n, line in enumerate(lines) if line.startswith(")")), len(lines) - 1)
    head, body, tail = lines[0], lines[1:close], "\n".join(lines[close:])
    kept, deferred = [], []
    for line in body:
        definition = line.strip().rstrip(",")
        (deferred if _DEFERRABLE.match(line) else kept).append(definition)
    if not deferred or not kept:
        return ddl, []
    return "\n".join([head, ",\n".join("  " + d for d in kept), tail]), ["ADD " + d for d in deferred]


def strip_secondary_indexes(chunks: Iterable[bytes], deferred: list[tuple[str, list[str]]]) -> Iterator[bytes]:
    """The dump stream with each ``CREATE TABLE`` cut down by ``split_create_table``; the
    ``ADD …`` clauses of each table are appended to ``deferred``, for the caller to run
    once the rows are in."""
    buf = b""
    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        out: list[bytes] = []
        pos = 0
        while True:
            i = buf.find(_CREATE, pos)
            if i < 0:
                keep = max(pos, len(buf) - len(_CREATE))
                out.append(buf[pos:keep])
                buf = buf[keep:]
                break
            end = buf.find(_END, i)
            if end < 0:
                out.append(buf[pos:i])
                buf = buf[i:]
                break
            create, clauses = split_create_table(buf[i + 1:end].decode("utf-8"))
            out += [buf[pos:i + 1], create.encode("utf-8")]
            if clauses:
                name = buf[i + len(_CREATE):buf.index(b"`", i + len(_CREATE))].replace(b"``", b"`")
                deferred.append((name.decode("utf-8"), clauses))
            pos = end
        data = out[0] if len(out) == 1 else b"".join(out)
        if data:
            yield data
    if buf:
        yield buf
