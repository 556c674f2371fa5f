"""What Harbor 1.5.2 itself writes into the database when it starts, told apart from the rest.

``verify --snapshot`` run after Harbor's first start sees three kinds of rows that the
upgrade did not write and that are no loss (harbor-facts §5.2, §5.4 and §6):

- the adminserver stores its configuration in ``properties`` at every start: every key
  it serves that is not stored yet (all of them on a migrated 0.5.0 database, whose
  ``properties`` is empty), and again the keys it reloads from its environment at every
  start, and the encrypted keys (written back with a fresh IV, so their text changes);
  after a reset (a new ``reload_key``) every key it takes from its environment;
- the ui syncs ``repository`` with the registry's catalog: rows of repositories no longer
  in the catalog are deleted, tagged repositories of live projects without a row added;
- the ui sets the admin's password (and salt) when user 1 has no salt.

Nothing else is accepted: a key Harbor does not write, a property deleted, a repository
row changed, another user changed, all stay differences. The repository sync and the
admin password are recognised only once the adminserver's keys are all there (the ui
starts after the adminserver, so without them Harbor has not run on this database).
"""
from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

from ..common.text import first_items
from ..errors import MigratorError
from ..mysql.connection import Database
from ..verdicts import Verdict
from .changes import Changes
from .dumped_rows import ddl_columns, fields, live_rows, snapshot_ddl, snapshot_rows

# Our own list of the keys Harbor 1.5.2's adminserver stores at start, from harbor-facts §5.4:
# every key it serves except scan_all_policy (no environment variable, set from the UI only).
_RELOADED = (  # "R" in §5.4: taken from the environment at every start
    "ext_endpoint", "mysql_host", "mysql_port", "mysql_username", "mysql_password", "mysql_database",
    "registry_url", "cfg_expiration", "max_job_workers", "admiral_url", "with_notary", "with_clair",
    "clair_db_password", "clair_db_username", "clair_db_host", "clair_db_port", "uaa_endpoint", "uaa_client_id",
    "uaa_client_secret", "uaa_verify_cert", "ui_url", "jobservice_url", "token_service_url", "clair_url",
    "notary_url", "registry_storage_provider_name",
)
_STORED_ONCE = (  # taken from the environment (or a default) only while not stored yet
    "auth_mode", "self_registration", "database_type", "sqlite_file",
    "ldap_url", "ldap_search_dn", "ldap_search_password", "ldap_base_dn", "ldap_filter", "ldap_uid",
    "ldap_scope", "ldap_timeout", "ldap_verify_cert", "ldap_group_base_dn", "ldap_group_search_filter",
    "ldap_group_attribute_name", "ldap_group_search_scope",
    "email_host", "email_port", "email_username", "email_password", "email_ssl", "email_insecure",
    "email_from", "email_identity", "token_expiration", "project_creation_restriction",
    "admin_initial_password", "clair_db", "read_only", "reload_key",
)
ADMINSERVER_KEYS = frozenset(_RELOADED + _STORED_ONCE)
# §5.3: stored as "<enc-v1>" + base64(IV ‖ ciphertext), a fresh IV at every write.
ENCRYPTED_KEYS = frozenset({"email_password", "ldap_search_password", "mysql_password", "admin_initial_password",
                            "clair_db_password", "uaa_client_secret"})
REWRITTEN_AT_START = frozenset(_RELOADED) | ENCRYPTED_KEYS
_ENCRYPTED_PREFIX = "<enc-v1>"

ADMINSERVER = "written by Harbor 1.5.2's adminserver at start"
REPOSITORY_SYNC = ("Harbor 1.5.2's ui syncs repository with the registry catalog at start (deletes the rows of "
                   "repositories not in it, adds tagged repositories of live projects); `verify --registry` "
                   "checks the registry side")
ADMIN_PASSWORD = ("the admin's password and salt, set by Harbor 1.5.2's ui at start from admin_initial_password "
                  "(user 1 had no salt)")



@dataclasses.dataclass
class Sorted:
    """An entity's differences, split: ``rest`` is not Harbor's doing; ``notes`` say what was."""

    rest: Changes
    notes: list[str] = dataclasses.field(default_factory=list)
    status: Verdict = Verdict.OK   # of the recognised part: WARN when the database alone cannot prove it


def _in(keys: list[str]) -> tuple[str, list[str]]:
    return ", ".join(["%s"] * len(keys)), keys


class HarborWrites:
    """Harbor 1.5.2's own writes on one database, against one snapshot (``dump``: its rows, or None)."""

    def __init__(self, db: Database, manifest: Any, dump: pathlib.Path | None):
        self.db, self.manifest, self.dump = db, manifest, dump
        self._started: bool | None = None

    def started(self) -> bool:
        """Whether Harbor 1.5.2 has run on this database: every key its adminserver stores is there."""
        if self._started is None:
            marks, args = _in(sorted(ADMINSERVER_KEYS))
            try:
                self._started = self.db.scalar(f"SELECT COUNT(*) FROM properties WHERE k IN ({marks})",
                                               args) == len(ADMINSERVER_KEYS)
            except MigratorError:
                self._started = False
        return self._started

    def sort(self, entity: str, changes: Changes) -> Sorted:
        if entity == "properties":
            return self._properties(changes)
        if entity == "repositories" and self.started():
            return self._repositories(changes)
        if entity == "users" and "1" in changes.get("changed", []) and self.started() and self._admin_password():
            rest = dict(changes, changed=[k for k in changes["changed"] if k != "1"])
            return Sorted(rest, [f"users: 1 changed: user 1: {ADMIN_PASSWORD}"])
        return Sorted(changes)

    # -- properties ---------------------------------------------------------------------------
    def _properties(self, changes: Changes) -> Sorted:
        new = [k for k in changes.get("new", []) if k in ADMINSERVER_KEYS]
        changed = changes.get("changed", [])
        # After a reset (a new reload_key) every key taken from the environment is written again.
        reset = "reload_key" in changed
        rewritten = [k for k in changed if k in (ADMINSERVER_KEYS if reset else REWRITTEN_AT_START)]
        clear = self._not_encrypted(new + rewritten)
        new = [k for k in new if k not in clear]
        rewritten = [k for k in rewritten if k not in clear]
        rest = {"missing": changes.get("missing", []),
                "new": [k for k in changes.get("new", []) if k not in new],
                "changed": [k for k in changed if k not in rewritten]}
        notes = []
        if new:
            notes.append(f"properties: {len(new)} new: {ADMINSERVER} (its configuration, every key not stored "
                         f"yet): {first_items(sorted(new))}")
        if rewritten:
            why = ("after a reset (reload_key changed) it stores every key of its environment again" if reset else
                   "it reloads these from its environment, and writes the encrypted ones with a fresh IV, at "
                   "every start")
            notes.append(f"properties: {len(rewritten)} changed: {ADMINSERVER} ({why}): {first_items(sorted(rewritten))}")
        return Sorted(rest, notes)

    def _not_encrypted(self, keys: list[str]) -> set[str]:
        """Keys the adminserver would have encrypted whose value is not in its format: not its writing."""
        secret = sorted(k for k in keys if k in ENCRYPTED_KEYS)
        if not secret:
            return set()
        marks, args = _in(secret)
        return {str(k) for k, in self.db.query(f"SELECT k FROM properties WHERE k IN ({marks}) AND v NOT LIKE %s",
                                               (*args, _ENCRYPTED_PREFIX + "%"))}

    # -- repository -------------------------------------------------------------------------
    def _repositories(self, changes: Changes) -> Sorted:
        deleted = changes.get("missing", [])
        added = changes.get("new", [])
        if added:  # the sync adds rows only for repositories of a live project, named after it
            marks, args = _in(added)
            synced = {str(i) for i, in self.db.query(
                f"SELECT r.repository_id FROM repository r JOIN project p ON p.project_id = r.project_id "
                f"AND p.deleted = 0 AND LEFT(r.name, CHAR_LENGTH(p.name) + 1) = CONCAT(p.name, '/') "
                f"WHERE r.repository_id IN ({marks})", args)}
            added = [k for k in added if k in synced]
        rest = {"missing": [],      # any row: the catalog decides, which `verify --registry` reads
                "new": [k for k in changes.get("new", []) if k not in added],
                "changed": changes.get("changed", [])}
        notes = [f"repositories: {len(keys)} {kind} (repository_id): {first_items(keys)}: {REPOSITORY_SYNC}"
                 for kind, keys in (("missing", deleted), ("new", added)) if keys]
        return Sorted(rest, notes, Verdict.WARN if notes else Verdict.OK)

    # -- the admin's password ------------------------------------------------------------------
    def _admin_password(self) -> bool:
        """User 1 had no salt in the snapshot, has one now, and nothing else of its row changed but
        the password and the timestamps the server updates itself."""
        if self.dump is None or not self.dump.exists():
            return False
        try:
            before_columns = ddl_columns(snapshot_ddl(self.manifest, "user") or "")
            now_columns = [r[0] for r in self.db.query(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'user' "
                "ORDER BY ORDINAL_POSITION", (self.db.name,))]
            before = next((r for r in snapshot_rows(self.dump, self.manifest, "user") if r.startswith(b"(1,")), None)
            now = next((r for r in live_rows(self.db, "user") if r.startswith(b"(1,")), None)
            auto = {str(c) for c, in self.db.query(
                "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'user' "
                "AND EXTRA LIKE '%%on update%%'", (self.db.name,))}
        except MigratorError:
            return False
        if before is None or now is None or "salt" not in before_columns or "salt" not in now_columns:
            return False
        was = dict(zip(before_columns, fields(before)))
        is_ = dict(zip(now_columns, fields(now)))
        if was["salt"] not in (b"NULL", b"''") or is_["salt"] in (b"NULL", b"''"):
            return False
        free = {"password", "salt", "update_time"} | auto
        return all(was[c] == is_[c] for c in was if c in is_ and c not in free)
