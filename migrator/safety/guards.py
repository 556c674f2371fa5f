"""What must hold before anything changes: one run at a time, Harbor stopped, privileges.

The run lock is MySQL's ``GET_LOCK`` (held by our connection, so it vanishes if
the tool dies). Other clients are read from the process list: a Harbor still
running would write while tables are copied and swapped.
"""
from __future__ import annotations

import fnmatch
import re

from ..mysql.connection import Database
from ..errors import Locked

UPGRADE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "REFERENCES")
SNAPSHOT_PRIVILEGES = ("SELECT", "LOCK TABLES")
_ALL = set(UPGRADE_PRIVILEGES) | {"LOCK TABLES", "CREATE TEMPORARY TABLES", "EXECUTE", "TRIGGER", "EVENT",
                                  "CREATE VIEW", "SHOW VIEW", "CREATE ROUTINE", "ALTER ROUTINE"}


def lock_name(db: Database) -> str:
    return f"harbor-migrate:{db.name}"[:64]


def acquire_run_lock(db: Database) -> None:
    got = db.scalar("SELECT GET_LOCK(%s, 0)", (lock_name(db),))
    if got != 1:
        holder = db.scalar("SELECT IS_USED_LOCK(%s)", (lock_name(db),))
        raise Locked(f"another harbor-migrate run holds the lock on {db.name!r} (connection {holder}): "
                     "wait for it to finish, or kill that connection if it is stale")


def release_run_lock(db: Database) -> None:
    try:
        db.scalar("SELECT RELEASE_LOCK(%s)", (lock_name(db),))
    except Exception:  # the connection may be gone; the server frees the lock with it
        pass


def other_clients(db: Database) -> list[dict]:
    """Connections using this database other than ours (needs PROCESS to see other users')."""
    rows = db.query_dicts(
        "SELECT ID AS id, USER AS user, HOST AS host, COMMAND AS command, TIME AS time FROM "
        "information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID() AND COMMAND <> 'Daemon'",
        (db.name,))
    return rows


def _grant_applies(target: str, database: str) -> bool:
    target = target.strip()
    if target in ("*.*", "`*`.`*`"):
        return True
    m = re.match(r"^`?((?:[^`]|``)+?)`?\.(?:\*|`\*`)$", target)
    if not m:
        return False  # table- or column-level grants do not cover DDL on new tables
    pattern = m.group(1).replace("``", "`")
    if "\\" not in pattern and "%" not in pattern and "_" not in pattern:
        return pattern == database
    # MySQL wildcards in database grants: % and _, escaped with a backslash.
    glob = ""
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            glob += "[" + pattern[i + 1] + "]"
            i += 2
            continue
        glob += "*" if ch == "%" else "?" if ch == "_" else ("[" + ch + "]" if ch in "[]*?" else ch)
        i += 1
    return fnmatch.fnmatchcase(database, glob)


def granted_privileges(db: Database) -> tuple[set[str], bool]:
    """Privileges the current account holds on the database, and whether roles may add more."""
    privileges: set[str] = set()
    roles = False
    for (line,) in db.query("SHOW GRANTS"):
        m = re.match(r"^GRANT (.+?) ON (.+?) TO ", str(line))
        if not m:
            if str(line).startswith("GRANT ") and " ON " not in str(line):
                roles = True  # GRANT role TO user
            continue
        privs, target = m.group(1), m.group(2)
        if target.upper().startswith("PROCEDURE ") or target.upper().startswith("FUNCTION "):
            continue
        if not _grant_applies(target, db.name):
            continue
        for p in re.split(r",\s*(?![^()]*\))", privs):
            p = p.strip().upper()
            if "(" in p:
                continue
            if p in ("ALL", "ALL PRIVILEGES"):
                privileges |= _ALL
                if target.strip() in ("*.*", "`*`.`*`"):
                    privileges |= {"PROCESS", "SUPER"}
            else:
                privileges.add(p)
    return privileges, roles


def quote_account(account: str) -> str:
    """``user@host`` as an account name for GRANT and SHOW CREATE USER (no host: any host, '%')."""
    user, at, host = account.partition("@")
    return f"'{user}'@'{host if at else '%'}'"
