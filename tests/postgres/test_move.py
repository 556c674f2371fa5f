"""The move (migrator/move/copy.py) from a real MariaDB at 1.5.0 into a real PostgreSQL.

The source: our 0.5.0 seed (deleted users and projects, non-Latin-1 names, zero dates,
a deleted tail log row) upgraded to 1.5.0 by our own chain, plus rows for what the
seed lacks (labels, scans, an apostrophe and backslashes, long values, the largest ids).
It is built once per module and never written by a move, which every test rechecks.
Every row of every table is compared, row by row, with the source after the documented
conversions; a few values are also checked by hand, so the conversions are not only
compared with themselves.
"""
from __future__ import annotations

import datetime as dt
import os

import pytest

from migrator.errors import ExitCode, TargetNotEmpty, UnknownVersion
from migrator.move import conversions as conv
from migrator.move.copy import STATE_TABLE, move_database
from migrator.mysql.connection import connect
from migrator.postgres.compare import compare_schemas
from migrator.postgres.introspect import read_schema
from tests.helpers import seeded_head
from tests.postgres.test_move_schema import fresh_160_schema

EXTRA_ROWS = [
    "INSERT INTO user (user_id, username, email, password, realname, comment, deleted, sysadmin_flag, "
    "creation_time, update_time) VALUES (9, 'o''brien\\\\x', 'ob@example.com', 'h', 'O''Brien\\nline two', "
    "'tab\\there', 0, NULL, '2018-03-04 05:06:07', '2018-03-04 05:06:07')",
    "INSERT INTO repository (repository_id, name, project_id, description, pull_count, star_count, creation_time, "
    "update_time) VALUES (2147483000, 'qa/образ-ü', 5, REPEAT('long é ', 8000), 7, 1, '2018-01-01 00:00:00', "
    "'2018-01-02 00:00:00')",
    "INSERT INTO harbor_label (id, name, description, color, level, scope, project_id, creation_time, update_time) "
    "VALUES (3, 'ラベル', 'ユーザー', '#00ff00', 'u', 'p', 5, '2018-02-02 02:02:02', '2018-02-02 02:02:02')",
    "INSERT INTO harbor_resource_label (id, label_id, resource_id, resource_name, resource_type, creation_time, "
    "update_time) VALUES (1, 3, 5, NULL, 'p', '2018-02-03 00:00:00', '2018-02-03 00:00:00')",
    "INSERT INTO properties (k, v) VALUES ('long_value', REPEAT('v', 128))",
    "INSERT INTO clair_vuln_timestamp (id, namespace, last_update) VALUES (1, 'debian:9', '0000-00-00 00:00:00')",
    "INSERT INTO img_scan_job (id, status, repository, tag, digest, job_uuid, creation_time, update_time) VALUES "
    "(1, 'finished', 'qa/tool', 'v1', 'sha256:aa', 'uuid-1', '2018-01-01 00:00:00', '2018-01-01 00:01:00')",
    "INSERT INTO img_scan_overview (id, image_digest, scan_job_id, severity, components_overview, details_key, "
    "creation_time, update_time) VALUES (1, 'sha256:aa', 1, 2, REPEAT('{}', 1000), 'layer', "
    "'2018-01-01 00:00:00', '2018-01-01 00:01:00')",
    "INSERT INTO replication_immediate_trigger (id, policy_id, namespace, on_push, on_deletion, creation_time, "
    "update_time) VALUES (100, 1, 'private-team', 1, 0, '2017-03-01 00:00:00', '2017-03-01 00:00:00')",
    "INSERT INTO user_group (id, group_name, group_type, ldap_group_dn, creation_time, update_time) VALUES "
    "(2147483647, 'admins', 1, 'cn=admins,dc=example,dc=com', '2018-01-01 00:00:00', '2018-01-01 00:00:00')",
    "INSERT INTO replication_job (id, status, policy_id, repository, operation, tags, creation_time, update_time) "
    "VALUES (4, 'finished', 1, 'private-team/api', 'transfer', REPEAT('t,', 8000), '2018-01-01 00:00:00', "
    "'2018-01-01 00:00:00')",
]


@pytest.fixture(scope="module")
def source(server_off):
    """A Harbor 1.5.0 database on MariaDB with every edge case; dropped after the module."""
    name = f"move_src_{os.getpid()}"
    settings = seeded_head(server_off, name)
    with connect(settings) as db:
        db.execute("SET SESSION foreign_key_checks = 0")
        for sql in EXTRA_ROWS:
            db.execute(sql)
    yield settings
    server_off.admin(f"DROP DATABASE IF EXISTS `{name}`")


def source_rows(settings, move: conv.TableMove) -> list[tuple]:
    """The source table as the conversions say 1.6.0 must hold it (read in our UTC session)."""
    if move.source is None:
        return [tuple(r) for r in move.generated_rows]
    key = move.source_columns[move.key_index]
    cols = ", ".join(f"`{c}`" for c in move.source_columns)
    with connect(settings) as db:
        rows = db.query(f"SELECT {cols} FROM `{move.source}` ORDER BY `{key}`")
    convert = conv.row_converter(move)
    return [convert(r) for r in rows]


def target_rows(db, move: conv.TableMove, columns: tuple[str, ...] | None = None) -> list[tuple]:
    cols = columns or move.target_columns
    order = move.target.primary_key[0] if move.target.primary_key else cols[0]
    return db.query(f'SELECT {", ".join(cols)} FROM "{move.name}" ORDER BY {order}')


def source_fingerprint(settings) -> list[tuple]:
    """Every source table's checksum: the move must not change one byte."""
    with connect(settings) as db:
        tables = db.table_names()
        return [tuple(r) for r in db.query("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables) + " EXTENDED")]


def database_state(db) -> dict:
    """Everything a move writes: every row of every table, and every sequence's position."""
    state = {m.name: target_rows(db, m, tuple(c.name for c in m.target.columns)) for m in conv.MOVES}
    state["sequences"] = db.query("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1")
    return state


def test_move_equals_source_row_by_row_and_fresh_schema(source, pg_dbs, schema_160, server_off):
    before = source_fingerprint(source)
    target = pg_dbs.create("moved")
    # Neither side's time zone may shift a timestamp: both far from UTC, and apart.
    server_off.admin("SET GLOBAL time_zone = '+05:30'")
    try:
        pg_dbs.pg.admin(f"ALTER DATABASE {target} SET TimeZone = 'Pacific/Chatham'")
        lines: list[str] = []
        result = move_database(source, pg_dbs.pg.superuser_settings(target), lines.append)
    finally:
        server_off.admin("SET GLOBAL time_zone = SYSTEM")
    assert source_fingerprint(source) == before
    assert not result.resumed and result.kept == []
    assert lines[0] == "moved access: 5 rows" and lines[-1].startswith("moved: indexes")

    with pg_dbs.connect(target) as db:
        db.execute("SET TIME ZONE DEFAULT")
        assert db.scalar("SHOW TimeZone") == "Pacific/Chatham"
        for move in conv.MOVES:
            assert target_rows(db, move) == source_rows(source, move), move.name
            assert result.rows[move.name] == len(source_rows(source, move))
        assert compare_schemas(fresh_160_schema(pg_dbs, schema_160), read_schema(db)) == []
        assert db.scalar(f"SELECT to_regclass('{STATE_TABLE}')") is None

        # By hand, not through the conversions.
        user = {r[0]: r for r in db.query(
            "SELECT username, realname, comment, deleted, sysadmin_flag, creation_time, update_time FROM harbor_user")}
        assert user["alice"][5] == dt.datetime(2017, 1, 10, 9, 0, 0)       # seeded in UTC, read back unshifted
        assert user["zhang张三"][1] == "张三" and user["émile"][4] is True
        assert user["carol#6"][3] is True
        assert user["o'brien\\x"][1:3] == ("O'Brien\nline two", "tab\there") and user["o'brien\\x"][4] is False
        assert db.scalar("SELECT last_update FROM clair_vuln_timestamp WHERE id = 1") == dt.datetime(1, 1, 1)
        assert db.scalar("SELECT deleted FROM project WHERE name = 'old#4'") is True
        assert db.query("SELECT name, length(description) FROM repository WHERE repository_id = 2147483000") == \
            [("qa/образ-ü", 56000)]
        assert db.query("SELECT name, deleted FROM harbor_label WHERE id = 3") == [("ラベル", False)]
        assert db.scalar("SELECT v FROM properties WHERE k = 'long_value'") == "v" * 128
        assert db.query("SELECT on_push, on_deletion FROM replication_immediate_trigger WHERE id = 100") == \
            [(True, False)]
        assert db.query("SELECT * FROM alembic_version") == [("1.6.0",)]
        assert db.query("SELECT version, dirty FROM schema_migrations") == [(1, False)]
        assert db.scalar("SELECT count(*) FROM admin_job") == 0

        # Sequences continue after the highest id and after MySQL's counter (the deleted tail log row).
        with connect(source) as my:
            log_next = int(my.scalar("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE "
                                     "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'access_log'"))
            log_max = int(my.scalar("SELECT MAX(log_id) FROM access_log"))
        assert log_next > log_max + 1
        assert db.scalar("SELECT nextval('access_log_log_id_seq')") == log_next
        assert db.scalar("SELECT nextval('repository_repository_id_seq')") == 2147483001
        assert result.next_ids["user_group_id_seq"] == 2 ** 31      # exhausted, as on MySQL
        assert db.scalar("SELECT last_value FROM pg_sequences WHERE sequencename = 'user_group_id_seq'") == 2 ** 31 - 1
        # The triggers are in place: an update moves update_time.
        db.execute("UPDATE project SET name = name WHERE project_id = 2")
        assert db.scalar("SELECT update_time FROM project WHERE project_id = 2") > dt.datetime(2020, 1, 1)


@pytest.mark.parametrize("stop_at", ["moved access:", "moving access_log:"],
                         ids=["after-first-table", "inside-a-copy"])
def test_interrupted_move_rerun_ends_identical_to_uninterrupted(source, pg_dbs, stop_at):
    before = source_fingerprint(source)
    straight = pg_dbs.create("straight")
    move_database(source, pg_dbs.pg.superuser_settings(straight))

    target = pg_dbs.create("resumed")

    def stop(line: str) -> None:
        if line.startswith(stop_at):
            raise KeyboardInterrupt(line)

    with pytest.raises(KeyboardInterrupt):
        move_database(source, pg_dbs.pg.superuser_settings(target), stop, report_every=2)
    with pg_dbs.connect(target) as db:
        finished = dict(db.query(f"SELECT table_name, rows FROM {STATE_TABLE}"))
        assert finished == ({"access": 5} if stop_at == "moved access:" else
                            {m.name: n for m, n in ((m, len(source_rows(source, m))) for m in conv.MOVES)
                             if conv.MOVES.index(m) < conv.MOVES.index(conv.by_name("access_log"))})
        assert db.scalar("SELECT count(*) FROM access_log") == 0     # the unfinished copy left nothing

    lines: list[str] = []
    result = move_database(source, pg_dbs.pg.superuser_settings(target), lines.append)
    assert result.resumed and result.kept == list(finished)
    assert not any(line.startswith(f"moved {name}:") for name in finished for line in lines)
    assert source_fingerprint(source) == before
    with pg_dbs.connect(straight) as a, pg_dbs.connect(target) as b:
        assert database_state(b) == database_state(a)
        assert compare_schemas(read_schema(a), read_schema(b)) == []


def test_non_empty_target_refused_unless_force(source, pg_dbs):
    target = pg_dbs.create("busy")
    with pg_dbs.connect(target) as db:
        db.execute("CREATE TABLE notes (id int)")
    with pytest.raises(TargetNotEmpty) as err:
        move_database(source, pg_dbs.pg.superuser_settings(target))
    assert err.value.exit_code == ExitCode.TARGET_NOT_EMPTY == 15
    assert "table notes" in err.value.message and "--force" in err.value.message
    with pytest.raises(TargetNotEmpty, match="only Harbor's own tables"):     # --force never drops what is not Harbor's
        move_database(source, pg_dbs.pg.superuser_settings(target), force=True)
    with pg_dbs.connect(target) as db:
        assert db.table_names() == ["notes"]

    done = pg_dbs.create("done")
    move_database(source, pg_dbs.pg.superuser_settings(done))
    with pytest.raises(TargetNotEmpty):
        move_database(source, pg_dbs.pg.superuser_settings(done))
    result = move_database(source, pg_dbs.pg.superuser_settings(done), force=True)
    assert not result.resumed and result.rows["access"] == 5


def test_source_not_at_150_refused(dbs_off, pg_dbs):
    settings = dbs_off.seeded("h050")
    target = pg_dbs.create("early")
    with pytest.raises(UnknownVersion, match="at 0.4.0, not 1.5.0"):
        move_database(settings, pg_dbs.pg.superuser_settings(target))
    with pg_dbs.connect(target) as db:
        assert db.table_names() == []       # refused before the target was touched
