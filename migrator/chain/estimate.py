"""How long each operation will take on *this* server.

Rates come from, in order of preference: the timings of the last upgrade or
rehearsal recorded for this server in the journal (seconds per row of each
operation), or a short calibration on a TEMPORARY table in a separate session
(it never touches the database's tables): the time to copy and to rebuild
65,536 rows shaped like access_log. An operation's estimate is its rows (exact
counts where cheap, the catalog's estimate otherwise) times the rate, scaled by
row width.
"""
from __future__ import annotations

import dataclasses
import time

from ..mysql.connection import Database, connect, quote_ident as q
from ..safety.journal import Journal

CALIBRATION_ROWS = 1 << 16
EXACT_COUNT_BELOW = 200_000
FIXED_SECONDS = {"stamp": 0.005, "create": 0.01, "instant": 0.015}  # measured on small tables


@dataclasses.dataclass
class Rates:
    copy_row: float          # seconds per row for INSERT … SELECT into an empty table
    rebuild_row: float       # seconds per row for ALTER TABLE … FORCE
    row_bytes: float         # average row length of the calibration table
    source: str              # "calibration", "journal" or "default"


@dataclasses.dataclass
class TableSize:
    rows: int
    exact: bool
    avg_row_bytes: float


def table_sizes(db: Database, tables: list[str] | None = None) -> dict[str, TableSize]:
    """Rows and row width of every table (or of the named ones)."""
    where, args = "TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'", [db.name]
    if tables is not None:
        if not tables:
            return {}
        where += " AND TABLE_NAME IN (" + ",".join(["%s"] * len(tables)) + ")"
        args += list(tables)
    out = {}
    for name, rows, avg in db.query(f"SELECT TABLE_NAME, TABLE_ROWS, AVG_ROW_LENGTH FROM information_schema.TABLES "
                                    f"WHERE {where}", args):
        rows = int(rows or 0)
        exact = rows < EXACT_COUNT_BELOW
        if exact:
            rows = int(db.scalar(f"SELECT COUNT(*) FROM {q(name)}") or 0)
        out[name] = TableSize(rows, exact, float(avg or 0) or 100.0)
    return out


def calibrate(db: Database) -> Rates:
    """Time a copy and a rebuild of a TEMPORARY table in a second session (``db``'s may be read-only)."""
    with connect(db.settings) as cal:
        cal.execute("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'")
        cal.execute("CREATE TEMPORARY TABLE hm_calib (log_id int NOT NULL AUTO_INCREMENT PRIMARY KEY, "
                    "username varchar(255) NOT NULL, project_id int NOT NULL, repo_name varchar(256), "
                    "repo_tag varchar(128), GUID varchar(64), operation varchar(20) NOT NULL, op_time timestamp "
                    "NULL, KEY pid_optime (project_id, op_time)) ENGINE=InnoDB")
        cal.execute("INSERT INTO hm_calib (username, project_id, repo_name, repo_tag, operation, op_time) VALUES "
                    "('calibration-user', 1, 'library/calibration-repository', 'v1.0.0', 'pull', NOW())")
        while True:
            n = int(cal.scalar("SELECT COUNT(*) FROM hm_calib"))
            if n >= CALIBRATION_ROWS:
                break
            cal.execute("INSERT INTO hm_calib (username, project_id, repo_name, repo_tag, operation, op_time) "
                        "SELECT username, project_id + log_id % 7, CONCAT(repo_name, log_id), repo_tag, operation, "
                        f"op_time FROM hm_calib LIMIT {CALIBRATION_ROWS - n}")
        cal.execute("CREATE TEMPORARY TABLE hm_calib2 LIKE hm_calib")
        t0 = time.perf_counter()
        cal.execute("INSERT INTO hm_calib2 SELECT * FROM hm_calib ORDER BY log_id")
        copy = time.perf_counter() - t0
        t0 = time.perf_counter()
        cal.execute("ALTER TABLE hm_calib FORCE")
        rebuild = time.perf_counter() - t0
        width = float(cal.scalar("SELECT AVG(LENGTH(username) + LENGTH(repo_name) + LENGTH(repo_tag) + 30) "
                                 "FROM hm_calib") or 100)
        cal.execute("DROP TEMPORARY TABLE hm_calib, hm_calib2")
    return Rates(copy / CALIBRATION_ROWS, rebuild / CALIBRATION_ROWS, width, "calibration")


# Operation names repeat across revisions (every step ends with Converge ops named after their
# table), so a recorded timing is only reused for the same operation of the same revision.
Recorded = dict[tuple[str, str], tuple[float, int]]


def journal_rates(journal: Journal) -> Recorded:
    """(seconds, rows then) of each operation, by (revision, operation name), from the last run
    that recorded it."""
    rates: Recorded = {}
    for e in journal.events():
        if e.get("event") == "op_done":
            rates[(str(e.get("revision")), e["op"])] = (float(e["seconds"]), int(e.get("rows") or 0))
    return rates


def estimate_op(kind: str, rewrites: bool, revision: str, name: str, rows: int, width: float, rates: Rates,
                recorded: Recorded) -> tuple[float, str]:
    """(seconds, how) for operation ``name`` of step ``revision``: its recorded time scaled by
    rows, else the calibrated rates."""
    if (revision, name) in recorded:
        seconds, rows_then = recorded[(revision, name)]
        return (seconds * rows / rows_then if rows_then and rows else seconds), "journal"
    if kind == "stamp":
        return FIXED_SECONDS["stamp"], "fixed"
    scale = max(width / rates.row_bytes, 0.5) if rates.row_bytes else 1.0
    if kind == "copy":
        # copy in key order, then the secondary index, then a rename: about 1.4 x a plain copy
        return rows * rates.copy_row * scale * 1.4 + 0.05, rates.source
    if kind == "data":
        return rows * rates.copy_row * scale + 0.02, rates.source
    if rewrites:
        return rows * rates.rebuild_row * scale + FIXED_SECONDS["instant"], rates.source
    if "create" in name:
        return FIXED_SECONDS["create"], "fixed"
    return FIXED_SECONDS["instant"], "fixed"


def estimated_snapshot_bytes(db: Database) -> int:
    """What a snapshot needs on disk at its peak, generously: the file is about a third of the
    InnoDB data and indexes at zstd level 1 (docs/benchmarks.md; text that compresses worse
    needs more), and while the pieces are appended one of them exists twice (at most half of
    the file). InnoDB's sizes are estimates too."""
    return int(db.scalar("SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES "
                         "WHERE TABLE_SCHEMA = %s", (db.name,)) or 0) * 2 // 3
