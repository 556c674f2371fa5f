"""Projections: the things Harbor users care about, as SQL that yields the same rows before
and after the upgrade, and their hashes.

For each of users, projects and their public flag, members, repositories, replication
targets, policies with their trigger kind, immediate triggers and properties, a query
whose rows do not depend on the revision (project.public at 0.4.0 is the 'public'
metadata row at 1.5.0). ``snapshot`` stores their hashes per key in the manifest (the
server hashes each row's line and sends a bucket of them per result row); ``verify``
recomputes them live and lists every key that differs.
"""
from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from ..chain.revisions import at_least
from ..mysql.connection import Database


def _q(*cols: str) -> str:
    """One line per row, built by the server: QUOTE keeps NULL distinct from the string 'NULL'."""
    return "CONCAT_WS('|', " + ", ".join(f"QUOTE({c})" for c in cols) + ")"


@dataclasses.dataclass(frozen=True)
class Projection:
    """One thing users care about, as SQL: a key and a line per row, in key order.

    ``buckets`` are integer expressions that follow the key order and that at most
    ``BUCKET_ROWS`` rows share (the key's integer part, divided): the server hashes
    each row and joins a bucket's hashes into one result row, so a projection of
    20,000 rows costs a few result rows instead of 20,000 for the driver to decode.
    """

    key: str
    line: str
    source: str                    # FROM … [WHERE …]
    order: str
    buckets: tuple[str, ...]


BUCKET_ROWS = 1024
_GROUPED_BYTES = 16 << 20  # group_concat_max_len for a bucket: ~40 bytes a row, far below this


def projections(revision: str, with_admiral: bool = False, since: str | None = None) -> dict[str, Projection | None]:
    """entity -> its Projection for a database at ``revision`` (None: nothing to compare, the
    table did not exist yet), as comparable with a snapshot taken at ``since`` (default: the
    same revision).

    A snapshot older than 0.4.0 (an upgrade from Harbor 0.1.x or 0.3.x) has less to compare:
    columns added later with no value of the snapshot's behind them (0.1.1's timestamps) are
    left out on both sides, and what 0.1.1 derives is derived the same way from a 0.1.0
    database: the sysadmin flag from the sysAdmin project role, members from project roles
    (the highest privilege per project, in the renumbered ids), and the schema_version row it
    adds to properties is not counted against it.
    """
    since = since or revision
    per = f"DIV {BUCKET_ROWS}"
    with_times = at_least(since, "0.1.1")   # 0.1.1 added timestamps that 0.1.0 rows get at upgrade time
    p: dict[str, Projection | None] = {}
    sysadmin = ("sysadmin_flag" if at_least(revision, "0.1.1") else
                "(EXISTS (SELECT 1 FROM user_project_role upr JOIN project_role pr ON pr.pr_id = upr.pr_id "
                "WHERE pr.role_id = 1 AND upr.user_id = user.user_id))")
    p["users"] = Projection("user_id", _q('user_id', 'username', 'email', 'password', 'realname', 'comment',
                                          'deleted', 'reset_uuid', 'salt', sysadmin,
                                          *(('creation_time', 'update_time') if with_times else ())),
                            "user", "user_id", (f"user_id {per}",))
    public = ("(p.public <> 0)" if not at_least(revision, "1.3.0") else
              "(SELECT MAX(m.value = 'true') FROM project_metadata m WHERE m.project_id = p.project_id "
              "AND m.name = 'public' AND m.deleted = 0)")
    p["projects"] = Projection("p.project_id", _q('p.project_id', 'p.owner_id', 'p.name', 'p.creation_time',
                                                  *(('p.update_time',) if with_times else ()), 'p.deleted', public),
                               "project p", "p.project_id", (f"p.project_id {per}",))
    member_times = ('creation_time', 'update_time') if with_times else ()
    if at_least(revision, "1.5.0"):
        p["members"] = Projection("CONCAT(project_id, ':', entity_id)",
                                  _q('project_id', 'entity_id', 'role', *member_times),
                                  "project_member WHERE entity_type = 'u'", "project_id, entity_id",
                                  ("project_id", f"entity_id {per}"))
    elif at_least(revision, "0.1.1"):
        p["members"] = Projection("CONCAT(project_id, ':', user_id)",
                                  _q('project_id', 'user_id', 'role', *member_times),
                                  "project_member", "project_id, user_id", ("project_id", f"user_id {per}"))
    else:  # 0.1.0: the members 0.1.1 makes of project roles (revisions_early._roles_sql)
        p["members"] = Projection("CONCAT(project_id, ':', user_id)", _q('project_id', 'user_id', 'role'),
                                  "(SELECT pr.project_id, upr.user_id, GREATEST(MIN(pr.role_id) - 1, 1) AS role "
                                  "FROM user_project_role upr JOIN project_role pr ON pr.pr_id = upr.pr_id "
                                  "GROUP BY pr.project_id, upr.user_id) m", "project_id, user_id",
                                  ("project_id", f"user_id {per}"))
    p["repositories"] = (Projection("repository_id", _q('repository_id', 'name', 'project_id', 'description',
                                                        'pull_count', 'star_count', 'creation_time', 'update_time'),
                                    "repository", "repository_id", (f"repository_id {per}",))
                         if at_least(revision, "0.4.0") else None)
    replication = at_least(revision, "0.3.0")
    p["replication_targets"] = (Projection("id", _q('id', 'name', 'url', 'username', 'password', 'target_type',
                                                    'creation_time', 'update_time'),
                                           "replication_target", "id", (f"id {per}",)) if replication else None)
    if at_least(revision, "1.4.0"):
        kind = "SUBSTRING_INDEX(SUBSTRING_INDEX(cron_str, '\"kind\":\"', -1), '\"', 1)"
    else:
        kind = "'Manual'" if with_admiral else "IF(enabled = 1, 'Immediate', 'Manual')"
    deleted = "deleted" if at_least(revision, "0.4.0") else "0"  # 0.4.0 added it, 0 for every policy
    p["replication_policies"] = (Projection("id", _q('id', 'name', 'project_id', 'target_id', 'description', deleted,
                                                     'start_time', 'creation_time', 'update_time', kind),
                                            "replication_policy", "id", (f"id {per}",)) if replication else None)
    if not replication:
        p["replication_triggers"] = None
    elif at_least(revision, "1.4.0"):
        p["replication_triggers"] = Projection("CONCAT(policy_id, ':', namespace)",
                                               _q('policy_id', 'namespace', 'on_push', 'on_deletion'),
                                               "replication_immediate_trigger", "policy_id, namespace",
                                               ("policy_id",))
    elif not with_admiral:
        p["replication_triggers"] = Projection("CONCAT(rp.id, ':', pr.name)", _q('rp.id', 'pr.name', '1', '1'),
                                               "replication_policy rp JOIN project pr ON pr.project_id = "
                                               "rp.project_id WHERE rp.enabled = 1", "rp.id, pr.name",
                                               (f"rp.id {per}",))
    else:
        p["replication_triggers"] = None
    if not at_least(revision, "0.1.1"):
        p["properties"] = None
    else:  # one bucket: a few rows
        p["properties"] = Projection("k", _q("k", "v"), "properties" if with_times else
                                     "properties WHERE k <> 'schema_version'", "k", ("LENGTH(k) * 0",))
    return p


def _hashed(p: Projection) -> tuple[str, str]:
    """(the key, the first 16 hex digits of the line's SHA-256) as SQL, both as UTF-8 text
    whatever the columns' character set (so a table converted by the upgrade hashes alike)."""
    return (f"HEX(CONVERT(COALESCE(CONCAT({p.key}, ''), 'NULL') USING utf8mb4))",  # a NULL key (drift) stays a row
            f"LEFT(SHA2(CONVERT({p.line} USING utf8mb4), 256), 16)")


def _items(db: Database, p: Projection) -> list[str]:
    """Each row as ``HASH16 HEXKEY ;`` (no spaces), in key order: a bucket of them per result row, or
    one row each should a bucket outgrow group_concat_max_len (the ";" shows an item was not cut)."""
    key, digest = _hashed(p)
    item = f"CONCAT({digest}, {key}, ';')"
    buckets = ", ".join(f"{b} AS b{n}" for n, b in enumerate(p.buckets))
    names = ", ".join(f"b{n}" for n in range(len(p.buckets)))
    items: list[str] = []
    for *_, count, joined in db.query(f"SELECT {buckets}, COUNT(*), GROUP_CONCAT({item} ORDER BY {p.order} "
                                      f"SEPARATOR ',') FROM {p.source} GROUP BY {names} ORDER BY {names}"):
        bucket = (joined.decode() if isinstance(joined, bytes) else joined or "").split(",")
        if len(bucket) != count or not bucket[-1].endswith(";"):
            return [i for (i,) in db.query(f"SELECT {item} FROM {p.source} ORDER BY {p.order}")]
        items += bucket
    return items


def _fingerprint(db: Database, p: Projection | None) -> dict[str, Any]:
    pairs = [(i[16:-1], i[:16]) for i in (_items(db, p) if p is not None else [])]
    total = hashlib.sha256("".join(h for _, h in pairs).encode())
    keys = {bytes.fromhex(k).decode("utf-8", "replace"): h for k, h in pairs}
    return {"rows": len(keys), "sha256": total.hexdigest(), "keys": keys}


def entity_fingerprints(db: Database, revision: str, with_admiral: bool = False,
                        since: str | None = None) -> dict[str, Any]:
    """Projection hashes of a database at ``revision`` (stored in snapshot manifests; ``since``:
    as comparable with a snapshot taken at that revision)."""
    db.execute(f"SET SESSION group_concat_max_len = {_GROUPED_BYTES}")
    return {name: _fingerprint(db, p) for name, p in projections(revision, with_admiral, since).items()}
