"""Pre-flight: named checks, each ok / warn / fail with the fix in its message.

Run by ``plan`` (read-only) and again at the start of ``upgrade``, which stops
on a fail unless that check is overridden by name (``--skip-check NAME``).
Every check only reads: the catalog, server variables, grants, the process
list and counts.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
from typing import Callable

from ..verdicts import Check, Status
from ..mysql.connection import Database, quote_ident as q
from ..errors import ExitCode, MigratorError
from .guards import SNAPSHOT_PRIVILEGES, UPGRADE_PRIVILEGES, granted_privileges, other_clients
from ..schema.model import Schema, Table
from ..chain.estimate import estimated_snapshot_bytes
from ..common.text import human_size
from ..chain.status import Status as DbStatus

ZERO = "0000-00-00 00:00:00"


def _ok(name: str, message: str, **data) -> Check:
    return Check(name, Status.OK, message, data=data)


def _warn(name: str, message: str, details=None, **data) -> Check:
    return Check(name, Status.WARN, message, details or [], data)


def _fail(name: str, message: str, details=None, exit_code: ExitCode = ExitCode.PREFLIGHT_FAILED, **data) -> Check:
    return Check(name, Status.FAIL, message, details or [], data, int(exit_code))


def check_connection(db: Database, st: DbStatus | None, live: Schema) -> Check:
    return _ok("connection", f"connected to {db.settings.masked_dsn()} as {db.scalar('SELECT CURRENT_USER()')}")


def check_server_version(db: Database, st, live) -> Check:
    info = db.server_info()
    major, minor, _ = info.version_tuple
    label = info.label
    if info.flavour == "mariadb":
        if major == 10 or (major == 11 and minor <= 4):
            return _ok("server_version", f"{label}: in the tested matrix (MariaDB 10.x; CI runs 10.11)")
        if major > 10:
            return _warn("server_version", f"{label}: newer than the tested matrix (MariaDB 10.x): rehearse first")
        return _fail("server_version", f"{label}: too old; Harbor 1.5.2 needs MariaDB 10.x or MySQL 5.6+")
    if (major, minor) in ((5, 6), (5, 7), (8, 0)):
        return _ok("server_version", f"{label}: in the tested matrix (MySQL 5.6/5.7/8.0)")
    if (major, minor) < (5, 6):
        return _fail("server_version", f"{label}: too old; upgrade the server to MySQL 5.6+ first")
    return _warn("server_version", f"{label}: newer than the tested matrix (MySQL 5.6/5.7/8.0): rehearse first")


def check_privileges(db: Database, st, live, snapshot_dir: str | None = ".") -> Check:
    privileges, roles = granted_privileges(db)
    missing = [p for p in UPGRADE_PRIVILEGES if p not in privileges]
    snap_missing = [p for p in SNAPSHOT_PRIVILEGES if p not in privileges] if snapshot_dir is not None else []
    user = db.scalar("SELECT CURRENT_USER()")
    if (missing or snap_missing) and roles:
        return _warn("privileges", f"{user} lacks {', '.join(missing + snap_missing)} directly but has roles: check "
                                   "they are active", missing=missing + snap_missing)
    if missing:
        from .guards import _quote_account

        return _fail("privileges", f"{user} needs {', '.join(missing)}: GRANT {', '.join(missing)} ON "
                                   f"`{db.name}`.* TO {_quote_account(str(user))}", exit_code=ExitCode.PRIVILEGES,
                     missing=missing)
    if snap_missing:
        from .guards import _quote_account

        return _fail("privileges", f"the snapshot needs {', '.join(snap_missing)} (a moment of LOCK TABLES … READ "
                                   f"makes its pieces agree): GRANT {', '.join(snap_missing)} ON `{db.name}`.* TO "
                                   f"{_quote_account(str(user))}, or upgrade with --no-snapshot after your own "
                                   "backup", exit_code=ExitCode.PRIVILEGES, missing=snap_missing)
    snap = ", LOCK TABLES" if snapshot_dir is not None else ""
    note = "" if snapshot_dir is not None else " (no snapshot: LOCK TABLES not needed)"
    return _ok("privileges", f"{user} has {', '.join(UPGRADE_PRIVILEGES)}{snap} on `{db.name}`{note}",
               needed=list(UPGRADE_PRIVILEGES) + (list(SNAPSHOT_PRIVILEGES) if snapshot_dir is not None else []))


def _cache(db: Database) -> dict:
    """Per-connection memo for the scans two checks share (on the object: ids get reused)."""
    if not hasattr(db, "_preflight_cache"):
        db._preflight_cache = {}  # type: ignore[attr-defined]
    return db._preflight_cache  # type: ignore[attr-defined]


def _log_zero_dates(db: Database, live: Schema) -> int:
    """Rows of access_log with a zero op_time."""
    log = live.table("access_log")
    if log is None or log.column("op_time") is None:
        return 0
    return int(db.scalar(_zero_op_time_sql(log)) or 0)


def _log_orphans(db: Database, live: Schema) -> int:
    """Rows of access_log naming a user that no longer exists."""
    log = live.table("access_log")
    if log is None or log.column("user_id") is None or live.table("user") is None:
        return 0
    return int(db.scalar(_orphans_sql(log)) or 0)


def _leads(table: Table, *columns: str) -> bool:
    """Whether an index of ``table`` starts with ``columns``, all of them NOT NULL (a DISTINCT of the
    first one then reads one index entry per value, and no NULL is lost to a join on it)."""
    not_null = all(c is not None and not c.nullable for c in map(table.column, columns))
    return not_null and any(i.columns[:len(columns)] == columns for i in table.indexes)


# access_log has millions of rows: each count dives into an index instead of reading all of it.
# A DISTINCT of the index's first column is a loose index scan (one dive per project or user),
# then one range per value. At 2M rows 4-15 ms each with the index in memory, ~0.1 s read from
# disk, against 0.2-0.3 s (0.3-0.4 s) for the plain COUNT(*) (docs/benchmarks.md). Without such an
# index, the plain form.
def _zero_op_time_sql(log: Table) -> str:
    if _leads(log, "project_id", "op_time"):
        return ("SELECT COUNT(*) FROM (SELECT DISTINCT project_id FROM access_log) p "
                f"JOIN access_log a ON a.project_id = p.project_id AND a.op_time = '{ZERO}'")
    return f"SELECT COUNT(*) FROM access_log WHERE op_time = '{ZERO}'"


def _orphans_sql(log: Table) -> str:
    if _leads(log, "user_id"):
        return ("SELECT COUNT(*) FROM access_log a JOIN (SELECT d.user_id FROM (SELECT DISTINCT user_id "
                "FROM access_log) d LEFT JOIN user u ON u.user_id = d.user_id WHERE u.user_id IS NULL) o "
                "ON a.user_id = o.user_id")
    return ("SELECT COUNT(*) FROM access_log a LEFT JOIN user u ON u.user_id = a.user_id "
            "WHERE u.user_id IS NULL")


def _zero_date_columns(db: Database, live: Schema) -> list[str]:
    """Columns holding zero dates (counted once per connection: two checks ask)."""
    if "zero" in _cache(db):
        return _cache(db)["zero"]
    found = []
    for table in live.tables.values():
        for c in table.columns:
            if c.type in ("timestamp", "datetime"):
                if (table.name, c.name) == ("access_log", "op_time"):
                    n = _log_zero_dates(db, live)
                else:
                    n = db.scalar(f"SELECT COUNT(*) FROM {q(table.name)} WHERE {q(c.name)} = '{ZERO}'")
                if n:
                    found.append(f"{table.name}.{c.name}: {n} zero date(s)")
    _cache(db)["zero"] = found
    return found


def check_sql_mode(db: Database, st, live) -> Check:
    info = db.server_info()
    modes = {m.strip().upper() for m in info.global_sql_mode.split(",") if m.strip()}
    details = []
    if "ANSI_QUOTES" in modes:
        return _fail("sql_mode", "global sql_mode has ANSI_QUOTES: Harbor 1.5.2's queries use double-quoted strings "
                                 "and break; remove it (SET GLOBAL sql_mode and my.cnf)")
    if "ONLY_FULL_GROUP_BY" in modes and info.flavour == "mariadb":
        return _fail("sql_mode", "global sql_mode has ONLY_FULL_GROUP_BY: on MariaDB Harbor 1.5.2's replication "
                                 "policy list fails with error 1055; remove it (SET GLOBAL sql_mode and my.cnf)")
    zero_modes = modes & {"NO_ZERO_DATE", "NO_ZERO_IN_DATE"}
    if zero_modes:
        zeros = _zero_date_columns(db, live)
        if zeros:
            return _warn("sql_mode", f"global sql_mode has {', '.join(sorted(zero_modes))} and the tables hold zero "
                                     "dates: harbor-migrate sets its own session mode, but other tools' ALTERs on "
                                     "these tables will fail", zeros)
    if "ONLY_FULL_GROUP_BY" in modes:
        details.append("ONLY_FULL_GROUP_BY on MySQL: its functional-dependency check is believed to accept "
                       "Harbor's queries (not verified)")
        return _warn("sql_mode", "global sql_mode has ONLY_FULL_GROUP_BY (MySQL): rehearse Harbor 1.5.2", details)
    return _ok("sql_mode", f"global sql_mode '{info.global_sql_mode}' is fine for the upgrade and for Harbor 1.5.2")


def check_primary_keys(db: Database, st, live) -> Check:
    info = db.server_info()
    without = sorted(n for n, t in live.tables.items() if t.primary_key is None)
    if info.require_primary_key:
        return _warn("primary_key_required", "the server requires primary keys: the upgrade never leaves a table "
                                             "without one, but Harbor's alembic_version has none, so restoring a "
                                             "snapshot needs the requirement lifted for the restore (MariaDB: SET "
                                             "GLOBAL innodb_force_primary_key = OFF)", without)
    return _ok("primary_key_required", "no primary-key requirement on this server (and harbor-migrate would not "
                                       "need one relaxed)")


def check_charset(db: Database, st, live) -> Check:
    info = db.server_info()
    charset = info.db_charset.replace("utf8mb3", "utf8")
    server_cs = db.scalar("SELECT @@character_set_server")
    odd = sorted(f"{n}: {t.collation}" for n, t in live.tables.items()
                 if t.collation and not t.collation.startswith(("utf8_", "utf8mb3_")) and n != "alembic_version")
    if charset == "utf8mb4":
        return _warn("charset", "the database default charset is utf8mb4: Harbor's schema assumes utf8 "
                                "(replication_job.tags varchar(16384) does not fit utf8mb4); new tables take utf8mb4",
                     odd)
    if charset != "utf8":
        return _warn("charset", f"the database default charset is {info.db_charset}; Harbor's is utf8: new tables "
                                f"will be {info.db_charset}", odd)
    if odd:
        return _warn("charset", "some tables are not utf8 (they are kept as they are)", odd)
    return _ok("charset", f"database {info.db_collation}, server {server_cs}; all Harbor tables utf8")


def check_row_format(db: Database, st, live) -> Check:
    """1.5.x indexes need more than 767 bytes per column (utf8 varchar(256))."""
    variables = dict(db.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_default_row_format', "
                              "'innodb_large_prefix', 'innodb_file_format')"))
    from ..mysql.connection import row_format_clause

    if "innodb_default_row_format" not in variables:  # MySQL 5.6, MariaDB 10.0/10.1
        if row_format_clause(variables):
            return _ok("row_format", "no default row format on this server: harbor-migrate creates its tables with "
                                     "ROW_FORMAT=DYNAMIC (Barracuda and large prefixes are on), so the 1.5.x "
                                     "indexes fit")
        return _fail("row_format", "the 1.5.x indexes need more than 767 bytes per key: set innodb_file_format="
                                   "Barracuda, innodb_large_prefix=ON and innodb_file_per_table=ON (my.cnf and SET "
                                   "GLOBAL); harbor-migrate then creates its tables with ROW_FORMAT=DYNAMIC",
                     [f"{k}={v}" for k, v in variables.items()])
    row_format = str(variables.get("innodb_default_row_format", "compact")).lower()
    large_prefix = str(variables.get("innodb_large_prefix", "ON")).upper() in ("ON", "1")
    if row_format in ("dynamic", "compressed") and large_prefix:
        return _ok("row_format", f"new tables use ROW_FORMAT={row_format.upper()}: the 1.5.x index on "
                                 "img_scan_job(repository varchar(256), tag) fits")
    return _fail("row_format", "new tables would use COMPACT rows (767-byte index prefix): Harbor 1.5.x's "
                               "idx_repository_tag and unique_label_resource do not fit (error 1709/1071); set "
                               "innodb_default_row_format=DYNAMIC (MySQL 5.6: innodb_file_format=Barracuda, "
                               "innodb_large_prefix=ON, innodb_file_per_table=ON)", [f"{k}={v}" for k, v in variables.items()])


def check_server_settings(db: Database, st, live) -> Check:
    info = db.server_info()
    engines = sorted(f"{n}: {t.engine}" for n, t in live.tables.items() if (t.engine or "").lower() != "innodb")
    if engines:
        return _fail("storage_engine", "tables not on InnoDB (no transactions, no foreign keys): convert them first "
                                       "(ALTER TABLE … ENGINE=InnoDB)", engines)
    notes = [f"default_storage_engine={info.default_engine}", f"lower_case_table_names={info.lower_case_table_names}"]
    if info.default_engine.lower() != "innodb":
        return _warn("storage_engine", "the default engine is not InnoDB; harbor-migrate states ENGINE=InnoDB for "
                                       "the tables it creates", notes)
    return _ok("storage_engine", "all tables InnoDB; default engine InnoDB", lower_case_table_names=
               info.lower_case_table_names)


def check_clients(db: Database, st, live) -> Check:
    clients = other_clients(db)
    if clients:
        return _fail("other_clients", f"{len(clients)} other client(s) are connected to `{db.name}`: stop Harbor "
                                      "before the upgrade", [f"#{c['id']} {c['user']}@{c['host']} {c['command']} "
                                                             f"{c['time']}s" for c in clients],
                     exit_code=ExitCode.CLIENTS_CONNECTED)
    privileges, _ = granted_privileges(db)
    if not privileges & {"PROCESS", "SUPER"}:
        return _warn("other_clients", "no other connection visible, but without the PROCESS privilege only this "
                                      "account's own connections can be seen: make sure Harbor is stopped "
                                      "(or GRANT PROCESS ON *.* to this account)")
    return _ok("other_clients", "no other client uses the database (Harbor is stopped)")


def _count(db: Database, sql: str) -> int:
    try:
        return int(db.scalar(sql) or 0)
    except MigratorError:
        return 0


def check_data(db: Database, st: DbStatus | None, live: Schema, report: bool = True) -> Check:
    """``report=False`` (upgrade): leave out what only informs (never a warning or a failure)."""
    details, warn = [], False
    if live.table("replication_policy") and live.table("project"):
        n = _count(db, "SELECT COUNT(*) FROM replication_policy rp LEFT JOIN project p ON p.project_id = rp.project_id "
                       "WHERE p.project_id IS NULL")
        if n:
            warn = True
            details.append(f"{n} replication polic(ies) point at a missing project: Harbor's 1.4.0 crashes on them; "
                           "harbor-migrate gives them no immediate trigger, and Harbor 1.5.2's policy list fails "
                           "on them: delete them (or mark them deleted) before or after the upgrade")
    if report:
        n = _log_orphans(db, live)
        if n:
            details.append(f"{n} access_log row(s) of users that no longer exist: they keep username '' (as in Harbor)")
    problems = []
    if st is not None and st.start is not None:
        from ..chain.planner import render_steps

        with contextlib.suppress(MigratorError):
            for step in render_steps(db, st.start, "1.5.0", live):
                for op in step.ops:
                    for what, sql in op.checks:
                        try:
                            n = int(db.scalar(sql) or 0)
                        except MigratorError:
                            continue  # the column does not exist yet on this server
                        if n:
                            problems.append(f"step {step.revision}: {what} ({n} row(s))")
    if problems:
        return _fail("data", "rows would break a new constraint: fix them first (docs/what-if.md)",
                     problems + details, exit_code=ExitCode.DATA_CONFLICT)
    if warn:
        return _warn("data", "data the upgrade handles specially", details)
    return _ok("data", "no rows break a new constraint; nothing is lost" + (f" ({'; '.join(details)})" if details else ""))


def check_zero_dates(db: Database, st, live) -> Check:
    zeros = _zero_date_columns(db, live)
    if zeros:
        return _ok("zero_dates", f"zero timestamps in {len(zeros)} column(s): kept as they are (our session allows "
                                 "them)", **{"columns": zeros})
    return _ok("zero_dates", "no zero timestamps")


def check_revision(db: Database, st: DbStatus | None, live) -> Check:
    if st is None:
        return _fail("revision", "the revision could not be determined", exit_code=ExitCode.UNKNOWN_VERSION)
    if st.state == "mismatch" or st.start is None:
        return _fail("revision", st.message, exit_code=ExitCode.UNKNOWN_VERSION)
    if st.state == "dirty":
        return _warn("revision", st.message, st.pending)
    if st.state == "drifted":
        return _warn("revision", st.message, [str(d) for d in st.drift])
    return _ok("revision", st.message)


def _datadir_free(db: Database) -> int | None:
    """Free bytes of the server's data directory, when the server is on this machine."""
    if db.settings.unix_socket or db.settings.host in ("127.0.0.1", "localhost", "::1"):
        datadir = str(db.scalar("SELECT @@datadir") or "")
        if datadir and os.path.isdir(datadir):
            return shutil.disk_usage(datadir).free
    return None


def check_free_space(db: Database, st, live, snapshot_dir: str | None = ".") -> Check:
    sizes = dict(db.query("SELECT TABLE_NAME, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
                          "WHERE TABLE_SCHEMA = %s", (db.name,)))
    total = sum(int(v or 0) for v in sizes.values())
    biggest = max((int(v or 0) for v in sizes.values()), default=0)
    snapshot_need = estimated_snapshot_bytes(db)
    details = [f"database {human_size(total)}; largest table {human_size(biggest)} (access_log is copied once: "
               f"the server needs about that much free)"]
    local_free = shutil.disk_usage(snapshot_dir if snapshot_dir and os.path.isdir(snapshot_dir) else ".").free
    if snapshot_dir is None:
        local_free = snapshot_need = 0  # --no-snapshot
    if local_free < snapshot_need:
        return _fail("free_space", f"{snapshot_dir} has {human_size(local_free)} free, the snapshot needs about "
                                   f"{human_size(snapshot_need)}", details, exit_code=ExitCode.NO_SPACE)
    server_free = _datadir_free(db)
    if server_free is None:
        return _warn("free_space", f"snapshot: {human_size(local_free)} free, enough; the server's disk cannot be seen "
                                   f"from here: make sure it has {human_size(int(biggest * 1.2))} free", details)
    if server_free < biggest * 1.2:
        return _fail("free_space", f"the server's data directory has {human_size(server_free)} free; rebuilding the "
                                   f"largest table needs about {human_size(int(biggest * 1.2))}",
                     details, exit_code=ExitCode.NO_SPACE)
    return _ok("free_space", f"snapshot: {human_size(local_free)} free; server: {human_size(server_free)} free "
                             f"(needs about {human_size(int(biggest * 1.2))})")


def check_harbor_account(db: Database, st, live, harbor_user: str | None = None) -> Check:
    """Harbor 1.5.2's Go driver speaks only mysql_native_password and no TLS."""
    target = "CURRENT_USER()" if not harbor_user else _account(harbor_user)
    try:
        row = db.query(f"SHOW CREATE USER {target}")
    except MigratorError as exc:
        return _warn("harbor_account", f"cannot read the account of Harbor ({exc.message}): make sure it uses "
                                       "mysql_native_password and does not REQUIRE SSL")
    text = str(row[0][0]) if row else ""
    plugin = re.search(r"IDENTIFIED (?:VIA|WITH) [`']?(\w+)", text)
    plugin_name = plugin.group(1) if plugin else "mysql_native_password"
    who = harbor_user or "the migration account (pass --harbor-user for Harbor's own)"
    # Without --harbor-user we only know it is *our* account: a warning, not a stop.
    verdict = _fail if harbor_user else _warn
    if plugin_name not in ("mysql_native_password",):
        return verdict("harbor_account", f"{who} uses {plugin_name}: Harbor 1.5.2 can only log in with "
                                         "mysql_native_password (ALTER USER … IDENTIFIED WITH mysql_native_password "
                                         "BY …)")
    if re.search(r"REQUIRE (SSL|X509|ISSUER|SUBJECT|CIPHER)", text):
        return verdict("harbor_account", f"{who} requires TLS: Harbor 1.5.2 connects without TLS (ALTER USER … "
                                         "REQUIRE NONE)")
    return _ok("harbor_account", f"{who}: mysql_native_password, no TLS requirement")


def _account(user: str) -> str:
    name, _, host = user.partition("@")
    return f"'{name}'@'{host or '%'}'"


CHECKS: dict[str, Callable] = {
    "connection": check_connection,
    "server_version": check_server_version,
    "privileges": check_privileges,
    "sql_mode": check_sql_mode,
    "primary_key_required": check_primary_keys,
    "charset": check_charset,
    "row_format": check_row_format,
    "storage_engine": check_server_settings,
    "other_clients": check_clients,
    "revision": check_revision,
    "data": check_data,
    "zero_dates": check_zero_dates,
    "free_space": check_free_space,
    "harbor_account": check_harbor_account,
}


# Checks that are always ok: they only inform (plan lists them; upgrade, which prints only
# what is not ok, does not run them).
REPORT_ONLY = ("zero_dates",)


def run_preflight(db: Database, st: DbStatus | None, live: Schema, *, snapshot_dir: str | None = ".",
                  harbor_user: str | None = None, skip: tuple[str, ...] = (), report: bool = True) -> list[Check]:
    """Every check in order; ``report=False`` (upgrade) skips what can only inform, no hazard."""
    unknown = [s for s in skip if s not in CHECKS]
    if unknown:
        from ..errors import UsageError
        raise UsageError(f"unknown check(s) {', '.join(unknown)}: known are {', '.join(CHECKS)}")
    options = {"free_space": {"snapshot_dir": snapshot_dir}, "privileges": {"snapshot_dir": snapshot_dir},
               "harbor_account": {"harbor_user": harbor_user}, "data": {"report": report}}
    results = []
    for name, fn in CHECKS.items():
        if not report and name in REPORT_ONLY:
            continue
        check = fn(db, st, live, **options.get(name, {}))
        if name in skip and check.status == Status.FAIL:
            check = Check(check.name, Status.WARN, f"overridden (--skip-check {name}): {check.message}",
                          check.details, check.data)
        results.append(check)
    return results


def failing(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.status == Status.FAIL]


def raise_on_failures(checks: list[Check]) -> None:
    """One error for all failing checks; its exit code is the checks' own when they agree."""
    bad = failing(checks)
    if not bad:
        return
    codes = {c.exit_code for c in bad}
    code = ExitCode(codes.pop()) if len(codes) == 1 and None not in codes else ExitCode.PREFLIGHT_FAILED
    parts = []
    for c in bad:
        parts.append(f"{c.name}: {c.message}" + (f" [{'; '.join(c.details[:3])}]" if c.details else ""))
    names = " ".join(f"--skip-check {c.name}" for c in bad)
    from .. import errors

    cls = {ExitCode.DATA_CONFLICT: errors.DataConflict, ExitCode.PRIVILEGES: errors.MissingPrivileges,
           ExitCode.CLIENTS_CONNECTED: errors.ClientsConnected, ExitCode.UNKNOWN_VERSION: errors.UnknownVersion,
           ExitCode.NO_SPACE: errors.NoSpace}.get(code, errors.PreflightFailed)
    raise cls("pre-flight failed — " + " | ".join(parts) + f" (override with {names})")
