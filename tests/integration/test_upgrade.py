"""The core upgrade 0.4.0 -> 1.5.0 on a real MariaDB: schema shape and every data transformation."""
from __future__ import annotations

import datetime as dt

import pytest

from migrator import api
from migrator.mysql.connection import connect
from migrator.chain.executor import UpgradeOptions
from migrator.schema.diff import compare
from migrator.schema.introspect import introspect
from migrator.tools.seed import SAMPLE_LOGS, SAMPLE_MEMBERS
from tests.conftest import load_reference_sql
from tests.helpers import rows

pytestmark = pytest.mark.integration


def _upgrade(settings, **kw):
    return api.upgrade(settings, UpgradeOptions(**kw))


def test_result_equals_fresh_harbor_152_schema(dbs, reference):
    """After upgrade the schema equals a fresh load of Harbor's registry-1.5.2.sql on the same server."""
    settings = dbs.seeded()
    outcome = _upgrade(settings)
    assert [s.revision for s in outcome.result.steps] == ["1.2.0", "1.3.0", "1.4.0", "1.5.0"]
    fresh = dbs.create("fresh")
    load_reference_sql(dbs.server, fresh, reference / "schema" / "registry-1.5.2.sql")
    with connect(settings) as upgraded, connect(dbs.settings(fresh)) as want:
        drift = compare(introspect(want), introspect(upgraded))
        assert drift == [], "\n".join(map(str, drift))
        # column order included: compare() reports order; check it explicitly once more
        for name, table in introspect(want).tables.items():
            assert introspect(upgraded, [name]).tables[name].column_names == table.column_names
    assert rows(settings, "SELECT version_num FROM alembic_version") == [("1.5.0",)]


def test_result_equals_our_own_152_model(dbs):
    """Independent of the reference files: no drift from our 1.5.0 model, status clean."""
    settings = dbs.seeded()
    _upgrade(settings)
    with connect(settings) as db:
        assert api.schema_drift(db) == []
    st = api.status(settings)
    assert (st.state, st.start, st.declared, st.detected) == ("clean", "1.5.0", "1.5.0", "1.5.0")


def test_access_log_keeps_op_time_and_unicode_names(dbs):
    settings = dbs.seeded()
    before = {r[0]: r for r in rows(settings, "SELECT log_id, op_time FROM access_log")}
    _upgrade(settings)
    after = rows(settings, "SELECT log_id, username, project_id, repo_name, repo_tag, GUID, operation, op_time "
                           "FROM access_log ORDER BY log_id")
    names = {1: "admin", 3: "alice", 4: "bob", 5: "zhang张三", 6: "carol#6", 8: "émile"}
    expected = []
    for log_id, user_id, project_id, repo, tag, guid, operation, op_time in SAMPLE_LOGS:
        if log_id == 8:
            continue  # deleted in the seed
        expected.append((log_id, names.get(user_id, ""), project_id, repo, tag, guid, operation,
                         before[log_id][1]))
    assert after == expected
    # the zero timestamp survives as the zero timestamp, op_time of every row unchanged
    assert rows(settings, "SELECT CAST(op_time AS CHAR) FROM access_log WHERE log_id = 6") == [("0000-00-00 00:00:00",)]


def test_access_log_auto_increment_is_kept(dbs):
    settings = dbs.seeded()
    _upgrade(settings)
    with connect(settings) as db:
        db.execute("INSERT INTO access_log (username, project_id, operation) VALUES ('x', 1, 'pull')")
        assert db.scalar("SELECT MAX(log_id) FROM access_log") == 9  # 8 was used and deleted before


def test_project_public_becomes_metadata_for_every_project(dbs):
    settings = dbs.seeded()
    public = dict(rows(settings, "SELECT project_id, public FROM project"))
    _upgrade(settings)
    meta = rows(settings, "SELECT id, project_id, name, value, deleted FROM project_metadata ORDER BY id")
    assert meta == [(i + 1, pid, "public", "true" if public[pid] else "false", 0)
                    for i, pid in enumerate(sorted(public))]
    assert 4 in public  # the soft-deleted project has its row too
    assert "public" not in [c[0] for c in rows(settings, "SHOW COLUMNS FROM project")]


def test_project_member_ids_follow_old_key_order(dbs):
    settings = dbs.seeded()
    _upgrade(settings)
    got = rows(settings, "SELECT id, project_id, entity_id, entity_type, role FROM project_member ORDER BY id")
    old = sorted([(1, 1, 1)] + SAMPLE_MEMBERS)
    assert got == [(i + 1, p, u, "u", r) for i, (p, u, r) in enumerate(old)]
    # timestamps of existing members are kept
    assert rows(settings, "SELECT CAST(creation_time AS CHAR), CAST(update_time AS CHAR) FROM project_member "
                          "WHERE project_id = 2 AND entity_id = 3") == [("2017-04-01 00:00:00", "2017-04-02 00:00:00")]


def test_replication_policies_and_triggers(dbs):
    settings = dbs.seeded()
    before = dict(rows(settings, "SELECT id, CAST(update_time AS CHAR) FROM replication_policy"))
    _upgrade(settings)
    policies = rows(settings, "SELECT id, enabled, cron_str, filters, replicate_deletion, CAST(update_time AS CHAR) "
                              "FROM replication_policy ORDER BY id")
    immediate, manual = '{"kind":"Immediate"}', '{"kind":"Manual"}'
    assert policies == [
        (1, 1, immediate, None, 0, before[1]),
        (2, 1, manual, None, 0, before[2]),
        (3, 1, immediate, None, 0, before[3]),   # soft-deleted, enabled: Immediate like Harbor
        (4, 1, immediate, None, 0, before[4]),   # project row gone
        (5, 1, manual, None, 0, before[5]),
        (6, 1, immediate, None, 0, before[6]),
    ]
    triggers = rows(settings, "SELECT id, policy_id, namespace, on_push, on_deletion FROM replication_immediate_trigger "
                              "ORDER BY id")
    # enabled policies with a project row, soft-deleted included; the orphan gets none
    assert triggers == [(1, 1, "private-team", 1, 1), (2, 3, "old#4", 1, 1), (3, 6, "qa", 1, 1)]


def test_with_admiral_policies_become_manual_without_triggers(dbs):
    settings = dbs.seeded()
    _upgrade(settings, with_admiral=True)
    assert rows(settings, "SELECT DISTINCT enabled, cron_str FROM replication_policy") == [(1, '{"kind":"Manual"}')]
    assert rows(settings, "SELECT COUNT(*) FROM replication_immediate_trigger") == [(0,)]


def test_users_repositories_targets_and_properties(dbs):
    settings = dbs.seeded()
    with connect(settings) as db:
        db.execute("INSERT INTO properties (k, v) VALUES ('zeta', '1'), ('alpha', '2'), ('mid', '3')")
    users_before = rows(settings, "SELECT user_id, username, realname, deleted, CAST(update_time AS CHAR) FROM user")
    _upgrade(settings)
    assert rows(settings, "SELECT user_id, username, realname, deleted, CAST(update_time AS CHAR) FROM user") == \
        users_before
    assert rows(settings, "SELECT repository_id, name, project_id, pull_count, star_count FROM repository "
                          "ORDER BY repository_id") == [
        (1, "library/busybox", 1, 12, 1), (2, "private-team/api", 2, 3, 0), (3, "public-apps/web", 3, 40, 2),
        (4, "old#4/legacy", 4, 0, 0)]
    assert rows(settings, "SELECT id, insecure FROM replication_target ORDER BY id") == [(1, 0), (2, 0)]
    assert rows(settings, "SELECT id, k, v FROM properties ORDER BY id") == [(1, "alpha", "2"), (2, "mid", "3"),
                                                                            (3, "zeta", "1")]


def test_second_run_is_a_noop(dbs):
    settings = dbs.seeded()
    _upgrade(settings)
    outcome = _upgrade(settings)
    assert outcome.noop and outcome.result is None


def test_stepwise_targets_stamp_each_revision(dbs):
    settings = dbs.seeded()
    for target in ("1.2.0", "1.3.0", "1.4.0", "1.5.0"):
        outcome = _upgrade(settings, target=target)
        assert [s.revision for s in outcome.result.steps] == [target]
        assert rows(settings, "SELECT version_num FROM alembic_version") == [(target,)]
        st = api.status(settings)
        assert (st.state, st.start) == ("clean", target), st.drift


def test_intermediate_revisions_equal_fresh_releases(dbs, reference):
    """Each stop on the way equals Harbor's fresh schema of that release."""
    settings = dbs.seeded()
    for target, file in (("1.2.0", "registry-1.2.2.sql"), ("1.3.0", "registry-1.3.0.sql"),
                         ("1.4.0", "registry-1.4.0.sql")):
        _upgrade(settings, target=target)
        fresh = dbs.create("fresh")
        load_reference_sql(dbs.server, fresh, reference / "schema" / file)
        with connect(settings) as db, connect(dbs.settings(fresh)) as want:
            assert compare(introspect(want), introspect(db)) == []
