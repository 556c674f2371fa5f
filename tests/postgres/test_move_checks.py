"""The move's pre-flight checks on real servers: target_encoding and invalid_text, each naming what it found.

target_version is tested server-free (tests/unit/test_move_version.py): no server older than 9.6 is at hand."""
from __future__ import annotations

from migrator.errors import ExitCode
from migrator.move.state import locate_target
from migrator.mysql.connection import connect
from migrator.postgres.connection import connect_pg
from migrator.safety.move_checks import MoveContext, check_invalid_text, check_target_encoding, check_target_version
from migrator.verdicts import Verdict


def _context(my, pg) -> MoveContext:
    return MoveContext(my, pg, locate_target(pg, with_drift=False), my.table_names())


def test_sql_ascii_target_fails_target_encoding(dbs_off, pg_dbs):
    source = dbs_off.seeded("chk")
    name = "ascii_target"
    pg_dbs.pg.admin(f"DROP DATABASE IF EXISTS {name}",
                    f"CREATE DATABASE {name} ENCODING 'SQL_ASCII' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
    pg_dbs.names.append(name)
    with connect(source) as my, connect_pg(pg_dbs.pg.superuser_settings(name)) as pg:
        check = check_target_encoding(_context(my, pg))
        assert check.name == "target_encoding" and check.status == Verdict.FAIL
        assert "encoding is SQL_ASCII" in check.message and "ENCODING 'UTF8'" in check.message
        assert check_target_version(_context(my, pg)).status == Verdict.OK      # the server itself is new enough
    with connect(source) as my, pg_dbs.connect(pg_dbs.create("utf8_target")) as pg:
        assert check_target_encoding(_context(my, pg)).status == Verdict.OK


def test_nul_characters_fail_invalid_text_with_their_rows(dbs_off, pg_dbs):
    source = dbs_off.seeded("chk")
    with connect(source) as my, pg_dbs.connect(pg_dbs.create("clean")) as pg:
        assert check_invalid_text(_context(my, pg)).status == Verdict.OK      # the seed's non-Latin-1 names are valid
        my.execute("UPDATE user SET realname = CONCAT('nul', CHAR(0), 'here') WHERE user_id = 3")
        # MariaDB itself turns bytes that are not UTF-8 into '?' on the way into a utf8 column (even in
        # a binary session), so a NUL is what a client can leave there.
        my.execute("UPDATE project SET name = CONCAT('team', CHAR(0), 'x') WHERE project_id = 2")
        check = check_invalid_text(_context(my, pg))
    assert check.name == "invalid_text" and check.status == Verdict.FAIL
    assert check.exit_code == ExitCode.DATA_CONFLICT
    assert "in 2 table(s)" in check.message
    assert "project: 1 row(s) (project_id 2)" in check.details
    assert "user: 1 row(s) (user_id 3)" in check.details
