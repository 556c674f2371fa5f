"""The chain's pure parts, with no server: the declared revision chain (order, --to/--from names)
and how operations render their SQL and reviewable script from a hand-made catalog.

Operations are given a ``StepContext`` without a connection (``db=None``) and a ``ServerInfo``
written here; everything they render from it is asserted exactly, statement by statement.
"""
from __future__ import annotations

import pytest

from migrator.chain import revisions as chain
from migrator.chain.ops import Converge, DataMove, DropTable, RebuildAccessLog, Stamp, StepContext
from migrator.errors import ExitCode, UnknownVersion, UsageError
from migrator.mysql.connection import ServerInfo
from migrator.schema.model import CURRENT_TIMESTAMP, Column, Index, Schema, Table

# -- the declared chain ---------------------------------------------------------------------------
IDS = ("0.1.0", "0.1.1", "0.3.0", "0.4.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0")


def test_the_chain_in_order_base_and_head():
    assert chain.ORDER == IDS
    assert (chain.BASE, chain.HEAD, chain.HEAD_RELEASE) == ("0.1.0", "1.5.0", "1.5.2")
    assert [chain.index(r) for r in IDS] == list(range(len(IDS)))


@pytest.mark.parametrize("start, target, expected", [
    ("0.4.0", "1.5.0", ["1.2.0", "1.3.0", "1.4.0", "1.5.0"]),
    ("0.1.0", "0.3.0", ["0.1.1", "0.3.0"]),
    ("1.4.0", "1.5.0", ["1.5.0"]),
    ("1.5.0", "1.5.0", []),
    ("1.5.0", "1.2.0", []),          # past the target: nothing to run, never a step backwards
])
def test_between(start, target, expected):
    assert chain.between(start, target) == expected


def test_after_and_at_least():
    assert [chain.after(r) for r in IDS] == [*IDS[1:], None]
    assert chain.at_least("1.2.0", "1.2.0") and chain.at_least("1.3.0", "0.4.0")
    assert not chain.at_least("0.4.0", "1.2.0")


def test_known_and_newer_than_head():
    assert all(chain.is_known(r) for r in IDS)
    assert not chain.is_known(None) and not chain.is_known("1.5.2") and not chain.is_known("0.2.0")
    assert chain.newer_than_head("1.6.0") and chain.newer_than_head("1.10.0") and chain.newer_than_head("2.0")
    assert not chain.newer_than_head("1.5.0") and not chain.newer_than_head("1.4.9")
    assert not chain.newer_than_head("garbage")


@pytest.mark.parametrize("name, revision", [
    ("1.5.2", "1.5.0"), ("v1.5.2", "1.5.0"), ("1.5", "1.5.0"), ("1.5.0", "1.5.0"), (" 1.5.1 ", "1.5.0"),
    ("1.4", "1.4.0"), ("1.4.0", "1.4.0"), ("v1.3", "1.3.0"), ("1.2.2", "1.2.0"),
    ("0.5.0", "0.4.0"), ("1.1.2", "0.4.0"), ("0.4.5", "0.4.0"), ("0.3.5", "0.3.0"), ("0.1.1", "0.1.1"),
])
def test_resolve_target_harbor_versions_and_ids(name, revision):
    assert chain.resolve_target(name) == revision


def test_every_release_a_revision_names_resolves_to_it():
    # RELEASES is what status prints; TARGETS is what --to accepts: the two must agree.
    for rev in chain.CHAIN[1:]:
        for release in rev.releases.split(", "):
            name = release[:-2] if release.endswith(".x") else release
            assert chain.resolve_target(name) == rev.id, release


@pytest.mark.parametrize("name", ["1.7.0", "0.1.0", "0.2.0", "latest", "", "vv"])
def test_resolve_target_unknown_is_a_usage_error(name):
    with pytest.raises(UsageError) as err:
        chain.resolve_target(name)
    assert err.value.exit_code == ExitCode.USAGE == 2
    assert str(err.value) == (f"unknown target {name!r}: use a Harbor version (1.2.2, 1.3.0, 1.4.0, 1.5.2) "
                              "or a revision id (0.1.1, 0.3.0, 0.4.0, 1.2.0, 1.3.0, 1.4.0, 1.5.0)")


@pytest.mark.parametrize("name", ["1.6.0", "1.6", "v1.6.0"])
def test_the_postgresql_target_only_where_a_target_dsn_is_taken(name):
    assert chain.resolve_target(name, postgres=True) == chain.PG_TARGET.id == "1.6.0"
    assert chain.is_pg_target(chain.resolve_target(name, postgres=True))
    with pytest.raises(UsageError) as err:
        chain.resolve_target(name)
    assert err.value.exit_code == ExitCode.USAGE
    assert str(err.value) == (f"--to {name}: Harbor 1.6.0 runs on PostgreSQL; this command goes up to 1.5.2 "
                              "(upgrade and plan take --to 1.6.0 --target-dsn postgresql://…)")
    assert not chain.is_known("1.6.0") and "1.6.0" not in chain.ORDER     # not a step of the MySQL chain


@pytest.mark.parametrize("name, revision", [
    (None, None), ("", None), ("0.1.0", "0.1.0"), ("0.4.0", "0.4.0"), ("0.5.0", "0.4.0"), ("v1.2.2", "1.2.0"),
    ("1.5.2", "1.5.0"),
])
def test_resolve_start(name, revision):
    assert chain.resolve_start(name) == revision


def test_resolve_start_unknown_names_the_choices():
    with pytest.raises(UnknownVersion) as err:
        chain.resolve_start("0.2.0")
    assert err.value.exit_code == ExitCode.UNKNOWN_VERSION
    assert str(err.value) == ("--from 0.2.0: use a revision id (0.1.0, 0.1.1, 0.3.0, 0.4.0, 1.2.0, 1.3.0, 1.4.0, "
                              "1.5.0) or a Harbor version (0.5.0, 1.2.2 …)")


# -- operations rendered without a server ----------------------------------------------------------
MARIADB = ServerInfo(version="10.11.6-MariaDB", flavour="mariadb", version_tuple=(10, 11, 6),
                     explicit_defaults_for_timestamp=False, global_sql_mode="STRICT_TRANS_TABLES",
                     db_charset="utf8mb4", db_collation="utf8mb4_general_ci", default_engine="InnoDB",
                     lower_case_table_names=0, require_primary_key=False)
MYSQL56 = ServerInfo(version="5.6.51", flavour="mysql", version_tuple=(5, 6, 51),
                     explicit_defaults_for_timestamp=False, global_sql_mode="", db_charset="utf8",
                     db_collation="utf8_general_ci", default_engine="InnoDB", lower_case_table_names=0,
                     require_primary_key=False, row_format_clause=" ROW_FORMAT=DYNAMIC")

ID = Column("id", "int", nullable=False, default=None, auto_increment=True)
LABEL = Table("harbor_label", (ID, Column("name", "varchar(128)", False, None),
                               Column("creation_time", "timestamp", False, CURRENT_TIMESTAMP)),
              (Index("PRIMARY", ("id",), unique=True), Index("unique_label", ("name",), unique=True)))
LABEL_COLUMNS = ("`id` int NOT NULL AUTO_INCREMENT,\n"
                 "  `name` varchar(128) NOT NULL,\n"
                 "  `creation_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,\n"
                 "  PRIMARY KEY (`id`),\n"
                 "  UNIQUE KEY `unique_label` (`name`)\n")


def ctx_for(info: ServerInfo, live: dict[str, Table], want: dict[str, Table]) -> StepContext:
    return StepContext(info=info, schema=Schema(dict(live)), target=Schema(dict(want)), db=None)


def test_converge_of_a_missing_table_creates_it_in_full():
    ctx = ctx_for(MARIADB, {}, {"harbor_label": LABEL})
    op = Converge("harbor_label", why="new in 1.5.0")
    assert op.name == "harbor_label: new in 1.5.0" and op.tables == ("harbor_label",)
    assert op.pending(ctx)
    create = ("CREATE TABLE `harbor_label` (\n  " + LABEL_COLUMNS +
              ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci")
    assert op.sql(ctx) == [create]
    assert op.script(ctx) == [create]      # DDL: no transaction markers
    assert op.checks(ctx) == [] and not op.rewrites(ctx)
    op.simulate(ctx)
    assert ctx.live("harbor_label") == LABEL
    assert not op.pending(ctx) and op.sql(ctx) == []


def test_converge_states_the_row_format_where_the_server_cannot_default_to_it():
    ctx = ctx_for(MYSQL56, {}, {"harbor_label": LABEL})
    op = Converge("harbor_label")
    assert op.name == "harbor_label: match the revision's definition"
    assert op.sql(ctx) == ["CREATE TABLE `harbor_label` (\n  " + LABEL_COLUMNS +
                           ") ENGINE=InnoDB DEFAULT CHARSET=utf8 COLLATE=utf8_general_ci ROW_FORMAT=DYNAMIC"]


def test_converge_of_an_existing_table_alters_it_from_the_live_definition():
    live = Table("harbor_label", (ID, Column("label", "varchar(64)", True, None),
                                  Column("creation_time", "timestamp", False, CURRENT_TIMESTAMP)),
                 (Index("PRIMARY", ("id",), unique=True),))
    ctx = ctx_for(MARIADB, {"harbor_label": live}, {"harbor_label": LABEL})
    op = Converge("harbor_label", renames={"name": "label"})
    assert op.pending(ctx)
    assert op.sql(ctx) == ["ALTER TABLE `harbor_label`\n  CHANGE COLUMN `label` `name` varchar(128) NOT NULL",
                           "ALTER TABLE `harbor_label` ADD UNIQUE KEY `unique_label` (`name`), ALGORITHM=INPLACE"]
    assert op.checks(ctx) == [
        ("harbor_label.label has NULLs but becomes NOT NULL",
         "SELECT COUNT(*) FROM `harbor_label` WHERE `label` IS NULL"),
        ("harbor_label has duplicate (label) against the new unique key unique_label",
         "SELECT COUNT(*) FROM (SELECT 1 FROM `harbor_label` WHERE `label` IS NOT NULL GROUP BY `label` "
         "HAVING COUNT(*) > 1) d"),
    ]
    assert op.rewrites(ctx)      # NULL -> NOT NULL and a wider type: a table copy on old servers


def test_stamp_renders_what_alembic_runs():
    """Alembic's runtime stamps: the row of the revision before is updated; the first revision
    after the base (no row yet) inserts it."""
    ctx = ctx_for(MARIADB, {}, {})
    op = Stamp("1.5.0")
    assert (op.name, op.kind, op.tables) == ("alembic_version: stamp 1.5.0", "stamp", ("alembic_version",))
    assert op.sql(ctx) == op.script(ctx) == [
        "UPDATE alembic_version SET version_num = '1.5.0' WHERE version_num = '1.4.0'"]
    assert Stamp("0.1.1").script(ctx) == ["INSERT INTO alembic_version (version_num) VALUES ('0.1.1')"]


def test_data_move_script_resets_counters_and_wraps_the_move():
    ctx = ctx_for(MARIADB, {}, {})
    op = DataMove("project_member: roles become members", ("project_member", "user"),
                  probe=lambda c: "SELECT COUNT(*) FROM project_role",
                  statements=lambda c: ["INSERT INTO project_member SELECT 1", "DELETE FROM project_role"],
                  fills=("project_member",), renumbers=("user",))
    assert op.kind == "data" and op.transactional and op.has_probe(ctx)
    assert op.sql(ctx) == ["ALTER TABLE `project_member` AUTO_INCREMENT = 1",
                           "INSERT INTO project_member SELECT 1", "DELETE FROM project_role"]
    assert op.script(ctx) == ["ALTER TABLE `project_member` AUTO_INCREMENT = 1",
                              "SET SESSION foreign_key_checks = 0",
                              "START TRANSACTION",
                              "INSERT INTO project_member SELECT 1", "DELETE FROM project_role",
                              "COMMIT",
                              "SET SESSION foreign_key_checks = 1",
                              "ALTER TABLE `user` AUTO_INCREMENT = 1"]


def test_data_move_without_its_tables_is_neither_due_nor_probed():
    ctx = ctx_for(MARIADB, {}, {})
    op = DataMove("t: fill", ("t",), probe=lambda c: None, statements=lambda c: ["UPDATE t SET a = 1"],
                  transactional=False)
    assert not op.has_probe(ctx)
    assert not op.pending(ctx)         # no probe: never asks the (absent) server
    assert op.sql(ctx) == op.script(ctx) == ["UPDATE t SET a = 1"]


def test_drop_table():
    op = DropTable("project_role", "moved to project_member")
    assert op.name == "project_role: drop (moved to project_member)"
    live = Table("project_role", (ID,))
    ctx = ctx_for(MARIADB, {"project_role": live}, {})
    assert op.pending(ctx) and op.sql(ctx) == ["DROP TABLE `project_role`"]
    op.simulate(ctx)
    assert not op.pending(ctx) and ctx.schema.tables == {}


LOG_ID = Column("log_id", "int", False, None, auto_increment=True)
OP_TIME = Column("op_time", "timestamp", False, CURRENT_TIMESTAMP, on_update=True)
LOG_PK = Index("PRIMARY", ("log_id",), unique=True)
LOG_OLD = Table("access_log", (LOG_ID, Column("user_id", "int", False, None), OP_TIME), (LOG_PK,),
                collation="utf8mb4_general_ci")
LOG_NEW = Table("access_log", (LOG_ID, Column("username", "varchar(255)", False, None), OP_TIME),
                (LOG_PK, Index("pid_optime", ("username", "op_time"))))


def test_rebuild_access_log_script():
    ctx = ctx_for(MARIADB, {"access_log": LOG_OLD}, {"access_log": LOG_NEW})
    op = RebuildAccessLog()
    assert op.pending(ctx) and op.rewrites(ctx) and op.checks(ctx) == []
    assert op.script(ctx) == [
        "SET SESSION foreign_key_checks = 0",
        "SET SESSION unique_checks = 0",
        "DROP TABLE IF EXISTS `access_log__hm_new`",
        "CREATE TABLE `access_log__hm_new` (\n"
        "  `log_id` int NOT NULL AUTO_INCREMENT,\n"
        "  `username` varchar(255) NOT NULL,\n"
        "  `op_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,\n"
        "  PRIMARY KEY (`log_id`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
        "INSERT INTO `access_log__hm_new` (`log_id`, `username`, `op_time`)\n"
        "SELECT a.`log_id`, COALESCE(u.`username`, ''), a.`op_time`\n"
        "FROM `access_log` a LEFT JOIN `user` u ON u.`user_id` = a.`user_id`\n"
        "ORDER BY a.`log_id`",
        # Secondary keys after the load; no AUTO_INCREMENT clause without a server to read it from.
        "ALTER TABLE `access_log__hm_new` ADD KEY `pid_optime` (`username`, `op_time`), ALGORITHM=INPLACE",
        "RENAME TABLE `access_log` TO `access_log__hm_old`, `access_log__hm_new` TO `access_log`",
        "DROP TABLE `access_log__hm_old`",
        "SET SESSION unique_checks = 1",
        "SET SESSION foreign_key_checks = 1",
    ]
    assert op.sql(ctx) == op.script(ctx)[2:-2]


def test_rebuild_access_log_after_the_swap_only_clears_leftovers():
    ctx = ctx_for(MARIADB, {"access_log": LOG_NEW, "access_log__hm_old": LOG_OLD}, {"access_log": LOG_NEW})
    op = RebuildAccessLog()
    assert op.pending(ctx)
    assert op.sql(ctx) == ["DROP TABLE IF EXISTS `access_log__hm_old`", "DROP TABLE IF EXISTS `access_log__hm_new`"]
    done = ctx_for(MARIADB, {"access_log": LOG_NEW}, {"access_log": LOG_NEW})
    assert not op.pending(done)
    ctx = ctx_for(MARIADB, {"access_log": LOG_OLD}, {"access_log": LOG_NEW})
    op.simulate(ctx)
    assert ctx.live("access_log") == LOG_NEW
