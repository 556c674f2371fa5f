"""What the benchmarks share: a throwaway server, database copies, settling, timing, memory.

Every benchmark starts its own MariaDB from the local binary (``LocalServer``:
temporary data directory, free port, 127.0.0.1 only) and tears it down, also on
Ctrl-C and on SIGTERM (``run_all`` sends that when a benchmark overruns its time).
"""
from __future__ import annotations

import contextlib
import os
import pathlib
import platform
import resource
import shutil
import signal
import statistics
import sys
import time
from typing import Callable, Iterator

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `python bench/x.py` puts bench/ first; the package lives one up
    sys.path.insert(0, str(ROOT))

from migrator.mysql.connection import connect, quote_ident as q  # noqa: E402
from migrator.tools.local_server import LocalServer  # noqa: E402

# Stock Harbor ran on MySQL 5.6 / MariaDB < 10.10 timestamp rules.
SERVER_OPTIONS = {"explicit-defaults-for-timestamp": "OFF"}
DEFAULT_BUFFER_POOL = "2G"


def terminate_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so ``with`` blocks stop servers and remove temp dirs."""
    def handler(signum, frame):  # noqa: ARG001
        raise SystemExit(f"stopped by signal {signum}")
    signal.signal(signal.SIGTERM, handler)


@contextlib.contextmanager
def bench_server(buffer_pool: str = DEFAULT_BUFFER_POOL, extra: dict[str, str] | None = None) -> Iterator[LocalServer]:
    """A throwaway MariaDB for one benchmark, destroyed on the way out."""
    options = {**SERVER_OPTIONS, "innodb-buffer-pool-size": buffer_pool, **(extra or {})}
    server = LocalServer(options)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


def clone_database(server: LocalServer, src: str, dst: str, how: str = "import") -> float:
    """Copy ``src`` to a fresh ``dst``: the same DDL (foreign keys, AUTO_INCREMENT), the same rows.

    ``import`` (the default, local servers only) copies the InnoDB files: each table is
    created from its ``SHOW CREATE TABLE``, its tablespace discarded, the source's files
    copied under ``FLUSH TABLES … FOR EXPORT`` and imported — a file copy, about ten
    times faster than re-inserting the rows. ``insert`` fills each table with one
    ``INSERT … SELECT`` instead (``CREATE TABLE … LIKE`` would lose the foreign keys).
    Returns the seconds it took.
    """
    t0 = time.monotonic()
    server.create_database(dst)
    with connect(server.settings(src)) as source, connect(server.settings(dst)) as db:
        db.execute("SET SESSION foreign_key_checks = 0")
        db.execute("SET SESSION unique_checks = 0")
        tables = source.table_names()
        for table in tables:
            db.execute(source.query(f"SHOW CREATE TABLE {q(table)}")[0][1])
            if how == "insert":
                db.execute(f"INSERT INTO {q(table)} SELECT * FROM {q(src)}.{q(table)}")
        if how == "import" and tables:
            for table in tables:
                db.execute(f"ALTER TABLE {q(table)} DISCARD TABLESPACE")
            source.execute("FLUSH TABLES " + ", ".join(q(t) for t in tables) + " FOR EXPORT")
            try:
                for table in tables:
                    for ext in (".ibd", ".cfg"):
                        shutil.copyfile(server.datadir / src / (table + ext), server.datadir / dst / (table + ext))
            finally:
                source.execute("UNLOCK TABLES")
            for table in tables:
                db.execute(f"ALTER TABLE {q(table)} IMPORT TABLESPACE")
                with contextlib.suppress(OSError):
                    (server.datadir / dst / (table + ".cfg")).unlink()
    return time.monotonic() - t0


def warm(server: LocalServer, database: str) -> float:
    """Read every table of ``database`` once (clustered index), so that a timing starts
    with the data in the buffer pool rather than on a disk other processes share."""
    t0 = time.monotonic()
    with connect(server.settings(database)) as db:
        for table in db.table_names():
            db.query(f"CHECKSUM TABLE {q(table)}")
    return time.monotonic() - t0


def drop_database(server: LocalServer, name: str) -> None:
    server.admin(f"DROP DATABASE IF EXISTS {q(name)}")


def settle(server: LocalServer, timeout: float = 120.0) -> float:
    """Wait until InnoDB has written its dirty pages and purged its history, so that a
    timing does not pay for the work of the statements before it (flushing is sped up
    meanwhile, then the settings are put back). Returns the seconds waited."""
    t0 = time.monotonic()
    conn = server.root_connection()
    names = ("innodb_io_capacity_max", "innodb_io_capacity", "innodb_max_dirty_pages_pct_lwm",
             "innodb_max_dirty_pages_pct")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT " + ", ".join(f"@@GLOBAL.{n}" for n in names))
            saved = dict(zip(names, cur.fetchone()))
            fast = {"innodb_io_capacity_max": 200000, "innodb_io_capacity": 100000,
                    "innodb_max_dirty_pages_pct_lwm": 0, "innodb_max_dirty_pages_pct": 0}
            try:
                for n in names:
                    cur.execute(f"SET GLOBAL {n} = {fast[n]}")
                while time.monotonic() - t0 < timeout:
                    cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN "
                                "('Innodb_buffer_pool_pages_dirty', 'Innodb_history_list_length')")
                    status = {k: int(v) for k, v in cur.fetchall()}
                    if status.get("Innodb_buffer_pool_pages_dirty", 0) < 64 and \
                            status.get("Innodb_history_list_length", 0) < 1000:
                        break
                    time.sleep(0.1)
            finally:
                for n in reversed(names):  # io_capacity before io_capacity_max: never above the max
                    cur.execute(f"SET GLOBAL {n} = {saved[n]}")
    finally:
        conn.close()
    return time.monotonic() - t0


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds(server: LocalServer) -> tuple[float, float, float]:
    """CPU seconds used so far by this process, by its waited-for children (the dump and SQL
    clients) and by the server: the difference around an operation says where its time went."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(f"/proc/{server.proc.pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (own.ru_utime + own.ru_stime, kids.ru_utime + kids.ru_stime,
            (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))


def timed(fn: Callable[[], object]) -> float:
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def machine() -> dict[str, str]:
    """The facts a reader needs to compare figures: CPU, cores, memory, disk, server."""
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo", encoding="utf-8"):
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem, "python": platform.python_version(),
            "kernel": platform.release()}


def server_facts(server: LocalServer) -> dict[str, str]:
    conn = server.root_connection()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION(), @@innodb_buffer_pool_size, @@innodb_log_file_size, "
                        "@@innodb_flush_log_at_trx_commit, @@alter_algorithm, @@innodb_doublewrite")
            v, bp, log, flush, alg, dw = cur.fetchone()
    finally:
        conn.close()
    return {"version": v, "innodb_buffer_pool_size": f"{int(bp) >> 20} MiB",
            "innodb_log_file_size": f"{int(log) >> 20} MiB", "innodb_flush_log_at_trx_commit": str(flush),
            "alter_algorithm": str(alg), "innodb_doublewrite": str(dw)}
