"""The MySQL 1.5.0 -> PostgreSQL 1.6.0 conversions and the declared target schema, with no server."""
from __future__ import annotations

import datetime as dt

import pytest

from migrator.errors import DataConflict, ExitCode, UnknownVersion
from migrator.move import conversions as conv
from migrator.move import target_schema as ts


def test_every_target_table_has_a_move_and_generated_tables_read_nothing():
    assert [m.name for m in conv.MOVES] == [t.name for t in ts.TABLES]
    generated = {m.name for m in conv.MOVES if m.source is None}
    assert generated == {"admin_job", "alembic_version", "schema_migrations"}
    assert conv.by_name("alembic_version").generated_rows == (("1.6.0",),)
    assert conv.by_name("schema_migrations").generated_rows == ((1, False),)
    assert conv.by_name("admin_job").generated_rows == ()


def test_renames_user_table_and_guid_column():
    user = conv.by_name("harbor_user")
    assert user.source == "user"
    log = conv.by_name("access_log")
    assert log.source_columns == ("log_id", "username", "project_id", "repo_name", "repo_tag", "GUID",
                                  "operation", "op_time")
    assert log.target_columns[5] == "guid"


def test_harbor_label_deleted_is_added_not_read():
    label = conv.by_name("harbor_label")
    assert "deleted" not in label.source_columns
    assert "deleted" in ts.BY_NAME["harbor_label"].column_names


def test_flags_become_booleans_and_timestamps_are_converted():
    user = conv.by_name("harbor_user")
    kinds = {c.target: c.kind for c in user.columns}
    assert kinds["deleted"] == kinds["sysadmin_flag"] == "bool"
    assert kinds["creation_time"] == kinds["update_time"] == "time"
    assert kinds["username"] == "copy"
    target = conv.by_name("replication_target")
    assert {c.target: c.kind for c in target.columns}["target_type"] == "copy"   # smallint, not a flag
    assert {c.target: c.kind for c in target.columns}["insecure"] == "bool"
    flags = {(m.name, c.target) for m in conv.MOVES if m.source for c in m.columns if c.kind == "bool"}
    assert flags == {("harbor_user", "deleted"), ("harbor_user", "sysadmin_flag"), ("project", "deleted"),
                     ("project_metadata", "deleted"), ("replication_policy", "enabled"),
                     ("replication_policy", "deleted"), ("replication_policy", "replicate_deletion"),
                     ("replication_target", "insecure"), ("replication_immediate_trigger", "on_push"),
                     ("replication_immediate_trigger", "on_deletion")}


def _user_row(**over):
    row = {"user_id": 5, "username": "zhang张三", "email": "z@example.com", "password": "h", "realname": "张三",
           "comment": None, "deleted": 0, "reset_uuid": None, "salt": "s", "sysadmin_flag": 1,
           "creation_time": dt.datetime(2017, 2, 1, 8, 30), "update_time": dt.datetime(2017, 2, 1, 8, 30)}
    row.update(over)
    return tuple(row[c] for c in conv.by_name("harbor_user").source_columns)


def test_user_row_conversion_keeps_text_and_times_and_maps_flags():
    move = conv.by_name("harbor_user")
    out = dict(zip(move.target_columns, conv.row_converter(move)(_user_row())))
    assert out["username"] == "zhang张三" and out["realname"] == "张三"
    assert out["deleted"] is False and out["sysadmin_flag"] is True
    assert out["creation_time"] == dt.datetime(2017, 2, 1, 8, 30) and out["creation_time"].tzinfo is None


def test_zero_dates_become_year_one_and_null_times_stay_null():
    move = conv.by_name("harbor_user")
    out = dict(zip(move.target_columns, conv.row_converter(move)(
        _user_row(update_time="0000-00-00 00:00:00", creation_time=None))))
    assert out["update_time"] == dt.datetime(1, 1, 1, 0, 0, 0)
    assert out["creation_time"] is None


def test_null_flag_where_16_says_not_null_is_false_other_values_true():
    move = conv.by_name("harbor_user")
    out = dict(zip(move.target_columns, conv.row_converter(move)(_user_row(sysadmin_flag=None, deleted=2))))
    assert out["sysadmin_flag"] is False and out["deleted"] is True


def test_invalid_date_names_table_row_and_column():
    move = conv.by_name("harbor_user")
    with pytest.raises(DataConflict) as err:
        conv.row_converter(move)(_user_row(update_time="2017-00-10 00:00:00"))
    assert err.value.exit_code == ExitCode.DATA_CONFLICT
    assert "user.update_time" in err.value.message and "user_id=5" in err.value.message


def test_rows_without_conversions_pass_through_unchanged():
    move = conv.by_name("properties")
    row = (1, "auth_mode", "db_auth\\' \"x\"\n")
    assert conv.row_converter(move)(row) == row


def test_source_columns_checked_by_name_in_any_order():
    move = conv.by_name("access_log")
    conv.check_source_columns(move, ["log_id", "project_id", "repo_name", "repo_tag", "guid", "operation",
                                     "op_time", "username"])   # the chain's order, GUID in any case
    with pytest.raises(UnknownVersion, match="missing: username"):
        conv.check_source_columns(move, ["log_id", "project_id", "repo_name", "repo_tag", "GUID", "operation",
                                         "op_time"])
    with pytest.raises(UnknownVersion, match="would be lost\\): user_id"):
        conv.check_source_columns(move, list(move.source_columns) + ["user_id"])
    with pytest.raises(UnknownVersion, match="no table"):
        conv.check_source_columns(move, [])


def test_target_schema_names_what_postgres_would_generate():
    sql = ts.render_all()
    assert "CONSTRAINT harbor_user_pkey PRIMARY KEY (user_id)" in sql
    assert "ALTER TABLE harbor_user ADD CONSTRAINT harbor_user_username_key UNIQUE (username)" in sql
    assert "ADD CONSTRAINT project_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES harbor_user(user_id)" in sql
    assert "ADD CONSTRAINT unique_label UNIQUE (name, scope, project_id)" in sql
    assert ts.BY_NAME["access_log"].sequence == "access_log_log_id_seq"
    assert ts.BY_NAME["schema_migrations"].sequence is None


def test_phases_split_tables_from_what_follows_the_load():
    before, after = ts.phase_tables(), ts.phase_after_load()
    assert before[0].startswith("CREATE FUNCTION update_update_time_at_column()")
    assert all(s.startswith("CREATE TABLE") for s in before[1:])
    assert not any("UNIQUE" in s or "FOREIGN" in s or "INDEX" in s for s in before)
    first_fk = next(i for i, s in enumerate(after) if "FOREIGN KEY" in s)
    assert all(" UNIQUE (" not in s and "CREATE INDEX" not in s for s in after[first_fk:])
    assert after[-1].startswith("CREATE TRIGGER")
    triggers = [s.split()[2] for s in after if s.startswith("CREATE TRIGGER")]
    assert "admin_job_update_time_at_modtime" in triggers and len(triggers) == 15
