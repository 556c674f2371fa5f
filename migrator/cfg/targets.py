"""0.5.0's global ``verify_remote_cert = off`` as 1.3+'s per-target ``insecure = 1``.

Harbor 0.5.0 had one switch for all replication targets; from 1.3.0 each row of
``replication_target`` has an ``insecure`` flag (default 0, verify), so an
installation that replicated to self-signed registries must set it on every
target, or all its replications fail after the upgrade (harbor-facts §5.5, §8.3).
"""
from __future__ import annotations

from ..verdicts import Check, Verdict
from ..mysql.connection import Database
from ..errors import ConfigInvalid, NotHarbor, PreflightFailed
from .parse import parse

NAME = "cfg.apply_insecure"


def verify_remote_cert(old_cfg_text: str, source: str = "harbor.cfg") -> bool | None:
    """The 0.5.0 setting: True (verify), False (off), None (not in the file)."""
    value = parse(old_cfg_text, source=source).get("verify_remote_cert")
    if value is None:
        return None
    if value.lower() not in ("on", "off"):
        raise ConfigInvalid(f"{source}: verify_remote_cert must be on or off, got {value!r}; "
                            "decide per replication target whether to verify its certificate")
    return value.lower() == "on"


def apply_insecure_from_cfg(db: Database, old_cfg_text: str, dry_run: bool = False,
                            source: str = "harbor.cfg") -> Check:
    """Set ``insecure = 1`` on every target when the 0.5.0 file says ``verify_remote_cert = off``.

    Idempotent; ``dry_run`` only counts. Needs the ``insecure`` column (revision
    1.3.0 or later): PreflightFailed otherwise. ``update_time`` is left as it is.
    """
    verify = verify_remote_cert(old_cfg_text, source)
    if not db.has_table("replication_target"):
        raise NotHarbor(f"{db.settings.describe()} has no replication_target table: not a Harbor database")
    if "insecure" not in db.column_names("replication_target"):
        raise PreflightFailed(
            f"replication_target in {db.settings.describe()} has no insecure column: the database is older "
            "than revision 1.3.0. Run `harbor-migrate upgrade` first, then this command again")
    rows = db.query("SELECT id, insecure FROM replication_target ORDER BY id")
    data = {"targets": len(rows), "verify_remote_cert": {True: "on", False: "off", None: None}[verify],
            "dry_run": dry_run}
    if verify is None:
        return Check(NAME, Verdict.OK, f"verify_remote_cert is not set in {source} (0.5.0's default is on): "
                     "certificates stay verified, nothing to change", data=data)
    if verify:
        return Check(NAME, Verdict.OK, f"verify_remote_cert = on in {source}: certificates stay verified, "
                     "nothing to change", data=data)
    to_change = [int(r[0]) for r in rows if int(r[1] or 0) != 1]
    data["to_change"] = to_change
    if not to_change:
        return Check(NAME, Verdict.OK, f"all {len(rows)} replication target(s) already have insecure = 1", data=data)
    if dry_run:
        return Check(NAME, Verdict.WARN, f"would set insecure = 1 on {len(to_change)} of {len(rows)} replication "
                     "target(s) (dry run: nothing changed)", [f"target id={i}" for i in to_change], data)
    with db.transaction():
        changed = db.execute("UPDATE replication_target SET insecure = 1, update_time = update_time "
                             "WHERE insecure <> 1")
    data["changed"] = changed
    return Check(NAME, Verdict.OK, f"set insecure = 1 on {changed} of {len(rows)} replication target(s): "
                 "their certificates are no longer verified, as with 0.5.0's verify_remote_cert = off",
                 [f"target id={i}" for i in to_change], data)
