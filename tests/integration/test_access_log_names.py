"""access_log.username as the rebuild fills it: from the list of names (ELT) exactly as from the join.

The list is the fast path (ops.RebuildAccessLog._names); the join stays for chunked copies and
for what the list cannot hold. Both must give every row the same bytes, whatever the names and
the charset: quotes, backslashes, accents, CJK, trailing spaces, empty and
NULL names, ids of deleted users, ids past the last user.
"""
from __future__ import annotations

import pytest

from migrator import api
from migrator.chain.executor import UpgradeOptions
from migrator.chain.ops import RebuildAccessLog
from migrator.mysql.connection import connect
from tests.helpers import rows

pytestmark = pytest.mark.integration

NAMES = {
    "latin1": ["o'brien", "back\\slash", "jürgen", "trailing ", "", None, "%_'\"", "ÆØÅ"],
    "utf8": ["o'brien", "back\\slash", "jürgen", "trailing ", "", None, "名前", "ÆØÅ"],   # Harbor's own charset
}
ROWS = "SELECT log_id, HEX(username), project_id, op_time FROM access_log ORDER BY log_id"


def _with_names(dbs, charset: str):
    settings = dbs.seeded(charset=charset, sample=charset != "latin1")   # the sample holds CJK names
    with connect(settings) as db:
        first = int(db.scalar("SELECT COALESCE(MAX(user_id), 0) FROM user")) + 1
        for i, name in enumerate(NAMES[charset]):
            db.execute("INSERT INTO user (user_id, username, email, password, realname, deleted, sysadmin_flag, "
                       "creation_time, update_time) VALUES (%s, %s, NULL, 'x', 'r', 0, 0, NOW(), NOW())",
                       (first + 2 * i, name))   # every other id left free: NULL in the list
        gone = first + 2 * len(NAMES[charset]) + 5
        db.execute("SET SESSION foreign_key_checks = 0")   # rows of users deleted without their log
        for user_id in list(range(first - 1, first + 2 * len(NAMES[charset]))) + [gone, gone + 1000]:
            db.execute("INSERT INTO access_log (user_id, project_id, repo_name, operation, op_time) "
                       "VALUES (%s, 1, 'library/x', 'push', '2017-03-04 05:06:07')", (user_id,))
    return settings


def _rebuild_load(settings, **plan_args) -> str:
    ops = [o for step in api.plan(settings, calibrate=False, **plan_args).steps for o in step.ops]
    op = next(o for o in ops if o.name == RebuildAccessLog.name)
    return next(s for s in op.sql if s.startswith("INSERT INTO"))


@pytest.mark.parametrize("charset", sorted(NAMES))
def test_names_from_the_list_equal_names_from_the_join(dbs, charset):
    listed, joined = _with_names(dbs, charset), _with_names(dbs, charset)
    assert "ELT(a.`user_id`" in _rebuild_load(listed) and "JOIN" not in _rebuild_load(listed)
    api.upgrade(listed, UpgradeOptions())
    api.upgrade(joined, UpgradeOptions(copy_chunk_rows=7))    # chunks: the join
    got, want = rows(listed, ROWS), rows(joined, ROWS)
    assert got == want
    names = {bytes.fromhex(h).decode("latin1" if charset == "latin1" else "utf8") for _, h, _, _ in got}
    assert {n for n in NAMES[charset] if n} <= names and "" in names   # NULL and unknown ids: ''


def test_the_join_when_the_list_would_be_too_large(dbs, monkeypatch):
    settings = _with_names(dbs, "utf8")
    monkeypatch.setattr(RebuildAccessLog, "NAMES_MAX_BYTES", 64)
    load = _rebuild_load(settings)
    assert "LEFT JOIN `user` u" in load and "ELT(" not in load
    api.upgrade(settings, UpgradeOptions())
    assert rows(settings, "SELECT COUNT(*) FROM access_log WHERE username = 'o''brien'") == [(1,)]


def test_the_join_when_a_user_id_is_below_one(dbs):
    settings = dbs.seeded()
    with connect(settings) as db:
        db.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
        db.execute("INSERT INTO user (user_id, username, email, password, realname, deleted, sysadmin_flag, "
                   "creation_time, update_time) VALUES (0, 'zero', NULL, 'x', 'r', 0, 0, NOW(), NOW())")
        db.execute("INSERT INTO access_log (user_id, project_id, repo_name, operation, op_time) "
                   "VALUES (0, 1, 'library/x', 'push', '2017-03-04 05:06:07')")
    assert "LEFT JOIN `user` u" in _rebuild_load(settings)
    api.upgrade(settings, UpgradeOptions())
    assert rows(settings, "SELECT COUNT(*) FROM access_log WHERE username = 'zero'") == [(1,)]
