"""The live counterpart of a snapshot's digests: rows of a database rendered by the same dump
client, in the same character set, and hashed the same way (restore checks its copy so)."""
from __future__ import annotations

from ..archive.frames import Digests
from ..archive.manifest import Manifest
from ..errors import SnapshotInvalid
from ..mysql import clients as dumpclient
from ..mysql.dumptext import TableScan
from ..settings import ConnectionSettings


def live_digests(settings: ConnectionSettings, tables: list[str], *, where: str | None = None,
                 consistent: bool = True, charset: str = dumpclient.TEXT) -> dict[str, tuple[int, str]]:
    """(rows, sha256) of live tables (or of the rows ``where`` selects), rendered by the same
    dump client, in the same character set, as a snapshot's.

    ``consistent=False`` reads each table in a statement of its own, without a transaction
    or table locks (an index being added beside it then only waits for that one read).
    """
    if not tables:
        return {}
    extra = dumpclient.ROWS_ONLY + (() if consistent else ("--skip-single-transaction", "--skip-lock-tables"))
    extra += (f"--where={where}",) if where else ()
    with dumpclient.dump_stream(settings, tables, extra, doing="reading the restored rows",
                                fallback=SnapshotInvalid, charset=charset) as chunks:
        return TableScan().consume(chunks).result(tables)


def piece_digests(settings: ConnectionSettings, manifest: Manifest, tables: list[str],
                  *, consistent: bool = True) -> Digests:
    """The live counterpart of each of the manifest's pieces: (frame, table) -> (rows, sha256).

    Whole tables are read in one dump per character set, in the order given; ranges one dump
    each.
    """
    pieces = [p for p in manifest.pieces if p.table in tables]
    found: Digests = {}
    whole = {p.table: p for p in pieces if not p.where}
    for charset in dict.fromkeys(p.charset for p in whole.values()):
        names = [t for t in tables if t in whole and whole[t].charset == charset]
        found.update({(whole[t].frame, t): r for t, r in live_digests(settings, names, consistent=consistent,
                                                                        charset=charset).items()})
    for p in pieces:
        if p.where:
            found[(p.frame, p.table)] = live_digests(settings, [p.table], where=p.where, consistent=consistent,
                                                     charset=p.charset)[p.table]
    return found
