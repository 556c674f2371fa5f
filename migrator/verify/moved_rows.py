"""Every row of a moved 1.6.0 database against its MySQL source, after the move's conversions.

Both sides are streamed in key order (MySQL: one consistent snapshot and a server-side
cursor; PostgreSQL: keyset pages), so memory stays flat in table size; rows are
compared as values, the source through ``conversions.row_converter`` (the same
function the copy applies, whose decisions tests/postgres also check by hand).
"""
from __future__ import annotations

from typing import Iterator

from ..move import conversions as conv
from ..mysql.stream import SnapshotReader
from ..postgres.connection import PgDatabase
from ..settings import ConnectionSettings
from ..verdicts import Check, Verdict

PAGE = 5000
SHOWN = 5           # differences named per table


def _target_rows(pg: PgDatabase, move: conv.TableMove) -> Iterator[tuple]:
    cols = ", ".join(f'"{c}"' for c in move.target_columns)
    if move.key_index is None:
        yield from pg.query(f'SELECT {cols} FROM "{move.name}" ORDER BY 1')
        return
    key = move.target_columns[move.key_index]
    last = None
    while True:
        page = pg.query(f'SELECT {cols} FROM "{move.name}"' + (f' WHERE "{key}" > %s' if last is not None else "")
                        + f' ORDER BY "{key}" LIMIT {PAGE}', (last,) if last is not None else None)
        yield from (tuple(r) for r in page)
        if len(page) < PAGE:
            return
        last = page[-1][move.key_index]


def _source_rows(reader: SnapshotReader, move: conv.TableMove, batch_rows: int) -> Iterator[tuple]:
    if move.source is None:
        yield from (tuple(r) for r in move.generated_rows)
        return
    convert = conv.row_converter(move)
    key = move.source_columns[move.key_index] if move.key_index is not None else None
    for batch in reader.batches(move.source, move.source_columns, key, batch_rows):
        for row in batch:
            yield convert(row)


def _describe(move: conv.TableMove, row: tuple) -> str:
    if move.key_index is None:
        return "a row"
    return f"{move.target_columns[move.key_index]} {row[move.key_index]}"


def compare_table(reader: SnapshotReader, pg: PgDatabase, move: conv.TableMove,
                  batch_rows: int = PAGE) -> tuple[int, list[str]]:
    """(rows compared, differences) for one table; differences name the row by its key."""
    differences: list[str] = []
    n = 0
    source, target = _source_rows(reader, move, batch_rows), _target_rows(pg, move)
    key = move.key_index
    a, b = next(source, None), next(target, None)
    while a is not None or b is not None:
        n += 1
        if b is None or (a is not None and key is not None and a[key] < b[key]):
            differences.append(f"{move.name}: {_describe(move, a)} missing on PostgreSQL")
            a = next(source, None)
        elif a is None or (key is not None and b[key] < a[key]):
            differences.append(f"{move.name}: {_describe(move, b)} not in the MySQL source")
            b = next(target, None)
        else:
            if a != b:
                cols = [c for c, x, y in zip(move.target_columns, a, b) if x != y]
                differences.append(f"{move.name}: {_describe(move, a)} differs in {', '.join(cols)}")
            a, b = next(source, None), next(target, None)
        if len(differences) > SHOWN:
            break
    if len(differences) > SHOWN:   # stop reading: the stream left half-read is closed by the reader
        getattr(source, "close", lambda: None)()
    return n, differences


def verify_moved_rows(source: ConnectionSettings, pg: PgDatabase) -> Check:
    """One check: every table's rows equal, or the first differences of each table that is not."""
    details: list[str] = []
    counts: dict[str, int] = {}
    for move in conv.MOVES:
        # A reader per table: a table abandoned half-way drops its reader's connection.
        with SnapshotReader(source) as reader:
            counts[move.name], diffs = compare_table(reader, pg, move)
        details += diffs
    total = sum(counts.values())
    if details:
        return Check("rows", Verdict.FAIL, f"rows differ from the MySQL source {source.describe()} after the "
                     "conversions (first differences below)", details, {"rows": counts})
    return Check("rows", Verdict.OK, f"all {total} rows of {len(counts)} tables equal to the MySQL source after "
                 "the conversions", [], {"rows": counts})
