"""Pre-flight checks of the server and the account: what the upgrade, the snapshot and
Harbor 1.5.2 afterwards need from them (version, grants, modes, engines, space, clients)."""
from __future__ import annotations

import os
import re
import shutil

from ..common.text import human_size
from ..errors import ExitCode, MigratorError
from ..chain.estimate import estimated_snapshot_bytes
from ..mysql.connection import row_format_clause
from ..verdicts import Check
from .context import PreflightContext, Section, check, fail, ok, warn
from .data_checks import zero_date_columns
from .guards import SNAPSHOT_PRIVILEGES, UPGRADE_PRIVILEGES, granted_privileges, other_clients, quote_account


@check("connection", Section.SERVER)
def check_connection(ctx: PreflightContext) -> Check:
    return ok(f"connected to {ctx.db.settings.masked_dsn()} as {ctx.db.scalar('SELECT CURRENT_USER()')}")


@check("server_version", Section.SERVER)
def check_server_version(ctx: PreflightContext) -> Check:
    info = ctx.db.server_info()
    major, minor, _ = info.version_tuple
    label = info.label
    if info.flavour == "mariadb":
        if major == 10 or (major == 11 and minor <= 4):
            return ok(f"{label}: in the tested matrix (MariaDB 10.x; CI runs 10.11)")
        if major > 10:
            return warn(f"{label}: newer than the tested matrix (MariaDB 10.x): rehearse first")
        return fail(f"{label}: too old; Harbor 1.5.2 needs MariaDB 10.x or MySQL 5.6+")
    if (major, minor) in ((5, 6), (5, 7), (8, 0)):
        return ok(f"{label}: in the tested matrix (MySQL 5.6/5.7/8.0)")
    if (major, minor) < (5, 6):
        return fail(f"{label}: too old; upgrade the server to MySQL 5.6+ first")
    return warn(f"{label}: newer than the tested matrix (MySQL 5.6/5.7/8.0): rehearse first")


@check("privileges", Section.SERVER)
def check_privileges(ctx: PreflightContext) -> Check:
    db, snapshot = ctx.db, ctx.snapshot_dir is not None
    privileges, roles = granted_privileges(db)
    missing = [p for p in UPGRADE_PRIVILEGES if p not in privileges]
    snap_missing = [p for p in SNAPSHOT_PRIVILEGES if p not in privileges] if snapshot else []
    user = db.scalar("SELECT CURRENT_USER()")
    if (missing or snap_missing) and roles:
        return warn(f"{user} lacks {', '.join(missing + snap_missing)} directly but has roles: check they are active",
                    missing=missing + snap_missing)
    if missing:
        return fail(f"{user} needs {', '.join(missing)}: GRANT {', '.join(missing)} ON `{db.name}`.* TO "
                    f"{quote_account(str(user))}", exit_code=ExitCode.PRIVILEGES, missing=missing)
    if snap_missing:
        return fail(f"the snapshot needs {', '.join(snap_missing)} (a moment of LOCK TABLES … READ makes its pieces "
                    f"agree): GRANT {', '.join(snap_missing)} ON `{db.name}`.* TO {quote_account(str(user))}, or "
                    "upgrade with --no-snapshot after your own backup", exit_code=ExitCode.PRIVILEGES,
                    missing=snap_missing)
    snap = ", LOCK TABLES" if snapshot else ""
    note = "" if snapshot else " (no snapshot: LOCK TABLES not needed)"
    return ok(f"{user} has {', '.join(UPGRADE_PRIVILEGES)}{snap} on `{db.name}`{note}",
              needed=list(UPGRADE_PRIVILEGES) + (list(SNAPSHOT_PRIVILEGES) if snapshot else []))


@check("sql_mode", Section.SERVER)
def check_sql_mode(ctx: PreflightContext) -> Check:
    info = ctx.db.server_info()
    modes = {m.strip().upper() for m in info.global_sql_mode.split(",") if m.strip()}
    if "ANSI_QUOTES" in modes:
        return fail("global sql_mode has ANSI_QUOTES: Harbor 1.5.2's queries use double-quoted strings and break; "
                    "remove it (SET GLOBAL sql_mode and my.cnf)")
    if "ONLY_FULL_GROUP_BY" in modes and info.flavour == "mariadb":
        return fail("global sql_mode has ONLY_FULL_GROUP_BY: on MariaDB Harbor 1.5.2's replication policy list "
                    "fails with error 1055; remove it (SET GLOBAL sql_mode and my.cnf)")
    zero_modes = modes & {"NO_ZERO_DATE", "NO_ZERO_IN_DATE"}
    if zero_modes:
        zeros = zero_date_columns(ctx)
        if zeros:
            return warn(f"global sql_mode has {', '.join(sorted(zero_modes))} and the tables hold zero dates: "
                        "harbor-migrate sets its own session mode, but other tools' ALTERs on these tables will fail",
                        zeros)
    if "ONLY_FULL_GROUP_BY" in modes:
        return warn("global sql_mode has ONLY_FULL_GROUP_BY (MySQL): rehearse Harbor 1.5.2",
                    ["ONLY_FULL_GROUP_BY on MySQL: its functional-dependency check is believed to accept Harbor's "
                     "queries (not verified)"])
    return ok(f"global sql_mode '{info.global_sql_mode}' is fine for the upgrade and for Harbor 1.5.2")


@check("primary_key_required", Section.SERVER)
def check_primary_keys(ctx: PreflightContext) -> Check:
    without = sorted(n for n, t in ctx.live.tables.items() if t.primary_key is None)
    if ctx.db.server_info().require_primary_key:
        return warn("the server requires primary keys: the upgrade never leaves a table without one, but Harbor's "
                    "alembic_version has none, so restoring a snapshot needs the requirement lifted for the restore "
                    "(MariaDB: SET GLOBAL innodb_force_primary_key = OFF)", without)
    return ok("no primary-key requirement on this server (and harbor-migrate would not need one relaxed)")


@check("charset", Section.SERVER)
def check_charset(ctx: PreflightContext) -> Check:
    info = ctx.db.server_info()
    charset = info.db_charset.replace("utf8mb3", "utf8")
    server_cs = ctx.db.scalar("SELECT @@character_set_server")
    odd = sorted(f"{n}: {t.collation}" for n, t in ctx.live.tables.items()
                 if t.collation and not t.collation.startswith(("utf8_", "utf8mb3_")) and n != "alembic_version")
    if charset == "utf8mb4":
        return warn("the database default charset is utf8mb4: Harbor's schema assumes utf8 (replication_job.tags "
                    "varchar(16384) does not fit utf8mb4); new tables take utf8mb4", odd)
    if charset != "utf8":
        return warn(f"the database default charset is {info.db_charset}; Harbor's is utf8: new tables will be "
                    f"{info.db_charset}", odd)
    if odd:
        return warn("some tables are not utf8 (they are kept as they are)", odd)
    return ok(f"database {info.db_collation}, server {server_cs}; all Harbor tables utf8")


@check("row_format", Section.SERVER)
def check_row_format(ctx: PreflightContext) -> Check:
    """1.5.x indexes need more than 767 bytes per column (utf8 varchar(256))."""
    variables = dict(ctx.db.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('innodb_default_row_format', "
                                  "'innodb_large_prefix', 'innodb_file_format')"))
    shown = [f"{k}={v}" for k, v in variables.items()]
    if "innodb_default_row_format" not in variables:  # MySQL 5.6, MariaDB 10.0/10.1
        if row_format_clause(variables):
            return ok("no default row format on this server: harbor-migrate creates its tables with "
                      "ROW_FORMAT=DYNAMIC (Barracuda and large prefixes are on), so the 1.5.x indexes fit")
        return fail("the 1.5.x indexes need more than 767 bytes per key: set innodb_file_format=Barracuda, "
                    "innodb_large_prefix=ON and innodb_file_per_table=ON (my.cnf and SET GLOBAL); harbor-migrate "
                    "then creates its tables with ROW_FORMAT=DYNAMIC", shown)
    row_format = str(variables.get("innodb_default_row_format", "compact")).lower()
    large_prefix = str(variables.get("innodb_large_prefix", "ON")).upper() in ("ON", "1")
    if row_format in ("dynamic", "compressed") and large_prefix:
        return ok(f"new tables use ROW_FORMAT={row_format.upper()}: the 1.5.x index on img_scan_job(repository "
                  "varchar(256), tag) fits")
    return fail("new tables would use COMPACT rows (767-byte index prefix): Harbor 1.5.x's idx_repository_tag and "
                "unique_label_resource do not fit (error 1709/1071); set innodb_default_row_format=DYNAMIC (MySQL "
                "5.6: innodb_file_format=Barracuda, innodb_large_prefix=ON, innodb_file_per_table=ON)", shown)


@check("storage_engine", Section.SERVER)
def check_storage_engine(ctx: PreflightContext) -> Check:
    info = ctx.db.server_info()
    engines = sorted(f"{n}: {t.engine}" for n, t in ctx.live.tables.items() if (t.engine or "").lower() != "innodb")
    if engines:
        return fail("tables not on InnoDB (no transactions, no foreign keys): convert them first (ALTER TABLE … "
                    "ENGINE=InnoDB)", engines)
    notes = [f"default_storage_engine={info.default_engine}", f"lower_case_table_names={info.lower_case_table_names}"]
    if info.default_engine.lower() != "innodb":
        return warn("the default engine is not InnoDB; harbor-migrate states ENGINE=InnoDB for the tables it creates",
                    notes)
    return ok("all tables InnoDB; default engine InnoDB", lower_case_table_names=info.lower_case_table_names)


@check("other_clients", Section.SERVER)
def check_clients(ctx: PreflightContext) -> Check:
    clients = other_clients(ctx.db)
    if clients:
        return fail(f"{len(clients)} other client(s) are connected to `{ctx.db.name}`: stop Harbor before the upgrade",
                    [f"#{c['id']} {c['user']}@{c['host']} {c['command']} {c['time']}s" for c in clients],
                    exit_code=ExitCode.CLIENTS_CONNECTED)
    privileges, _ = granted_privileges(ctx.db)
    if not privileges & {"PROCESS", "SUPER"}:
        return warn("no other connection visible, but without the PROCESS privilege only this account's own "
                    "connections can be seen: make sure Harbor is stopped (or GRANT PROCESS ON *.* to this account)")
    return ok("no other client uses the database (Harbor is stopped)")


def _datadir_free(ctx: PreflightContext) -> int | None:
    """Free bytes of the server's data directory, when the server is on this machine."""
    settings = ctx.db.settings
    if settings.unix_socket or settings.host in ("127.0.0.1", "localhost", "::1"):
        datadir = str(ctx.db.scalar("SELECT @@datadir") or "")
        if datadir and os.path.isdir(datadir):
            return shutil.disk_usage(datadir).free
    return None


@check("free_space", Section.RUN)
def check_free_space(ctx: PreflightContext) -> Check:
    db, snapshot_dir = ctx.db, ctx.snapshot_dir
    sizes = dict(db.query("SELECT TABLE_NAME, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
                          "WHERE TABLE_SCHEMA = %s", (db.name,)))
    total = sum(int(v or 0) for v in sizes.values())
    biggest = max((int(v or 0) for v in sizes.values()), default=0)
    rebuild = int(biggest * 1.2)
    snapshot_need = estimated_snapshot_bytes(db)
    details = [f"database {human_size(total)}; largest table {human_size(biggest)} (access_log is copied once: "
               f"the server needs about that much free)"]
    local_free = shutil.disk_usage(snapshot_dir if snapshot_dir and os.path.isdir(snapshot_dir) else ".").free
    if snapshot_dir is None:
        local_free = snapshot_need = 0  # --no-snapshot
    if local_free < snapshot_need:
        return fail(f"{snapshot_dir} has {human_size(local_free)} free, the snapshot needs about "
                    f"{human_size(snapshot_need)}", details, exit_code=ExitCode.NO_SPACE)
    server_free = _datadir_free(ctx)
    if server_free is None:
        return warn(f"snapshot: {human_size(local_free)} free, enough; the server's disk cannot be seen from here: "
                    f"make sure it has {human_size(rebuild)} free", details)
    if server_free < biggest * 1.2:
        return fail(f"the server's data directory has {human_size(server_free)} free; rebuilding the largest table "
                    f"needs about {human_size(rebuild)}", details, exit_code=ExitCode.NO_SPACE)
    return ok(f"snapshot: {human_size(local_free)} free; server: {human_size(server_free)} free "
              f"(needs about {human_size(rebuild)})")


@check("harbor_account", Section.RUN)
def check_harbor_account(ctx: PreflightContext) -> Check:
    """Harbor 1.5.2's Go driver speaks only mysql_native_password and no TLS."""
    harbor_user = ctx.harbor_user
    target = "CURRENT_USER()" if not harbor_user else quote_account(harbor_user)
    try:
        row = ctx.db.query(f"SHOW CREATE USER {target}")
    except MigratorError as exc:
        return warn(f"cannot read the account of Harbor ({exc.message}): make sure it uses mysql_native_password "
                    "and does not REQUIRE SSL")
    text = str(row[0][0]) if row else ""
    plugin = re.search(r"IDENTIFIED (?:VIA|WITH) [`']?(\w+)", text)
    plugin_name = plugin.group(1) if plugin else "mysql_native_password"
    who = harbor_user or "the migration account (pass --harbor-user for Harbor's own)"
    # Without --harbor-user we only know it is *our* account: a warning, not a stop.
    verdict = fail if harbor_user else warn
    if plugin_name not in ("mysql_native_password",):
        return verdict(f"{who} uses {plugin_name}: Harbor 1.5.2 can only log in with mysql_native_password (ALTER "
                       "USER … IDENTIFIED WITH mysql_native_password BY …)")
    if re.search(r"REQUIRE (SSL|X509|ISSUER|SUBJECT|CIPHER)", text):
        return verdict(f"{who} requires TLS: Harbor 1.5.2 connects without TLS (ALTER USER … REQUIRE NONE)")
    return ok(f"{who}: mysql_native_password, no TLS requirement")
