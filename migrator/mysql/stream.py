"""Reading a whole database in one consistent snapshot, table by table, without holding a table.

``SnapshotReader`` opens its own connection (the session of ``connection``:
UTC, so TIMESTAMP values come back as the instants MySQL stores, to the
second, whatever the server's time zone), starts ``START TRANSACTION WITH
CONSISTENT SNAPSHOT, READ ONLY`` and streams each table through an unbuffered
server-side cursor (``SSCursor``) in batches: memory stays flat in table size.
Nothing is ever written; the transaction is rolled back at the end.

One unbuffered result at a time: a batch iterator must be exhausted before
the next query on the same reader; one abandoned half-way ends the reader
(its connection is dropped rather than made to read the rest of the table).
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import pymysql
import pymysql.cursors
import pymysql.err

from ..settings import ConnectionSettings
from .connection import Database, connect, quote_ident, translate_error


class SnapshotReader:
    def __init__(self, settings: ConnectionSettings):
        self.settings = settings
        self.db: Database | None = None

    def __enter__(self) -> "SnapshotReader":
        self.db = connect(self.settings)
        try:
            self.db.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            self.db.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        except BaseException:
            self.db.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.db is not None:
            with contextlib.suppress(Exception):
                self.db.conn.rollback()
            self.db.close()
            self.db = None

    @property
    def _db(self) -> Database:
        if self.db is None:
            raise RuntimeError("SnapshotReader used outside its with-block")
        return self.db

    def query(self, sql: str, args: Sequence[Any] | None = None) -> list[tuple]:
        return self._db.query(sql, args)

    def column_names(self, table: str) -> list[str]:
        return self._db.column_names(table)

    def auto_increment(self, table: str) -> int | None:
        """The table's next AUTO_INCREMENT value (not part of the snapshot: read now)."""
        value = self._db.scalar(
            "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (self._db.name, table))
        return int(value) if value is not None else None

    def batches(self, table: str, columns: Sequence[str], order_by: str | None = None,
                batch_rows: int = 5000) -> Iterator[list[tuple]]:
        """Every row of ``table`` (``columns`` in that order), in lists of at most ``batch_rows``."""
        sql = (f"SELECT {', '.join(quote_ident(c) for c in columns)} FROM {quote_ident(table)}"
               + (f" ORDER BY {quote_ident(order_by)}" if order_by else ""))
        with contextlib.closing(self._stream(sql, batch_rows)) as stream:
            for rows in stream:
                yield list(rows)

    def chunks(self, table: str, expression: str, order_by: str | None = None,
               batch_rows: int = 5000) -> Iterator[tuple[int, bytes]]:
        """``expression`` (one binary value per row) over every row of ``table``, as
        (rows, the values each followed by a newline, joined): bytes in, bytes out,
        nothing decoded. Same snapshot, same streaming and abandonment as ``batches``."""
        sql = (f"SELECT {expression} FROM {quote_ident(table)}"
               + (f" ORDER BY {quote_ident(order_by)}" if order_by else ""))
        join = b"\n".join
        with contextlib.closing(self._stream(sql, batch_rows)) as stream:
            for rows in stream:
                yield len(rows), join([r[0] for r in rows]) + b"\n"

    def _stream(self, sql: str, batch_rows: int) -> Iterator[tuple]:
        """The rows of ``sql`` from an unbuffered cursor, ``batch_rows`` at a time; the callers
        close it (contextlib.closing) so their own abandonment reaches it at once."""
        cur = self._db.conn.cursor(pymysql.cursors.SSCursor)
        try:
            cur.execute(sql)
            while True:
                rows = cur.fetchmany(batch_rows)
                if not rows:
                    break
                yield rows
            cur.close()
        except pymysql.err.MySQLError as exc:
            self._abandon()
            raise translate_error(exc, self.settings) from exc
        except BaseException:
            # Abandoned mid-table (the consumer failed or was interrupted): closing the
            # cursor would first read the rest of the table; drop the connection instead.
            self._abandon()
            raise

    def _abandon(self) -> None:
        if self.db is not None:
            # The streaming result still open would, when collected, try to read the rest of
            # the table from the closed connection (an error raised in a finaliser): mark it done.
            result = getattr(self.db.conn, "_result", None)
            if result is not None:
                result.unbuffered_active = False
            with contextlib.suppress(Exception):
                self.db.conn.close()
            self.db = None
