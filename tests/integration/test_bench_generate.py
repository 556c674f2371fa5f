"""bench/generate.py: deterministic, a clean Harbor 0.5.0 database, the promised shape."""
from __future__ import annotations

import pytest

from bench.common import clone_database
from bench.generate import Scale, generate, orphan_rows
from migrator import api
from migrator.mysql.connection import connect
from migrator.safety.journal import Journal
from tests.row_checksums import database_checksums
from tests.helpers import rows

pytestmark = pytest.mark.integration

LOG_ROWS = 20_000


def _generated(dbs, seed: int = 7, **scale):
    name = dbs.create("gen")
    settings = dbs.settings(name)
    g = generate(settings, LOG_ROWS, seed, **scale)
    return settings, g


def _checksums(settings):
    with connect(settings) as db:
        return database_checksums(db)


def test_same_seed_same_bytes_other_seed_other_rows(dbs_off):
    a, ga = _generated(dbs_off)
    b, _ = _generated(dbs_off)
    c, _ = _generated(dbs_off, seed=8)
    sums_a, sums_b, sums_c = _checksums(a), _checksums(b), _checksums(c)
    assert sums_a == sums_b
    assert sums_a["access_log"] != sums_c["access_log"]
    assert ga.counts["access_log"] == LOG_ROWS
    assert ga.scale == Scale.for_rows(LOG_ROWS)


def test_status_sees_a_clean_050_database(dbs_off):
    settings, _ = _generated(dbs_off)
    st = api.status(settings)
    assert (st.state, st.declared, st.detected, st.start) == ("clean", "0.4.0", "0.4.0", "0.4.0")
    assert st.drift == [] and st.leftovers == []


def test_shape_of_the_data(dbs_off):
    settings, g = _generated(dbs_off, users=300)
    ops = dict(rows(settings, "SELECT operation, COUNT(*) FROM access_log GROUP BY operation"))
    assert ops["pull"] > 0.7 * LOG_ROWS and ops["push"] > ops["delete"] > 0 and ops["create"] > 0
    # a few users (the robots) make most pushes
    top = rows(settings, "SELECT COUNT(*) FROM access_log WHERE operation = 'push' AND user_id BETWEEN 3 AND 12")[0][0]
    assert top > 0.7 * ops["push"]
    # a small deterministic share of rows names users that no longer exist; every project exists
    orphans = orphan_rows(settings)
    assert 0 < orphans < 0.01 * LOG_ROWS
    assert rows(settings, "SELECT COUNT(*) FROM access_log a LEFT JOIN project p ON p.project_id = a.project_id "
                          "WHERE p.project_id IS NULL")[0][0] == 0
    # non-Latin-1 names arrive intact; soft-deleted users carry Harbor's mangled names
    names = [r[0] for r in rows(settings, "SELECT username FROM user")]
    assert any(any(ord(ch) > 255 for ch in n) for n in names)
    assert rows(settings, "SELECT COUNT(*) FROM user WHERE deleted = 1 AND username LIKE '%#%'")[0][0] > 0
    # foreign keys hold everywhere else
    for sql in ("SELECT COUNT(*) FROM project p LEFT JOIN user u ON u.user_id = p.owner_id WHERE u.user_id IS NULL",
                "SELECT COUNT(*) FROM project_member m LEFT JOIN user u ON u.user_id = m.user_id WHERE u.user_id IS NULL",
                "SELECT COUNT(*) FROM replication_job j LEFT JOIN replication_policy p ON p.id = j.policy_id "
                "WHERE p.id IS NULL"):
        assert rows(settings, sql)[0][0] == 0
    assert g.counts["user"] < 300 + 2  # removed accounts leave gaps


def test_template_copy_is_identical_and_upgrades(dbs_off, tmp_path):
    settings, _ = _generated(dbs_off)
    copy = dbs_off.create("copy")
    dbs_off.server.admin(f"DROP DATABASE `{copy}`")
    clone_database(dbs_off.server, settings.database, copy)
    copy_settings = dbs_off.settings(copy)
    assert _checksums(copy_settings) == _checksums(settings)
    with connect(settings) as a, connect(copy_settings) as b:
        for t in a.table_names():
            assert a.query(f"SHOW CREATE TABLE `{t}`") == b.query(f"SHOW CREATE TABLE `{t}`")
    outcome = api.upgrade(copy_settings, journal=Journal(copy_settings, directory=tmp_path))
    assert outcome.after.state == "clean" and outcome.after.declared == "1.5.0"
