"""converge_table with no server: the exact ALTER statements from a live table to its model.

Tables are declared here the way a revision model does (migrator/schema/declare.py) and resolved
with the server's timestamp rules (model.resolve_table); the live side is the same declaration
with the difference under test. Each case asserts every statement, the checks (SQL counting the
rows that would make the ALTER fail) and whether the change rebuilds the table.
"""
from __future__ import annotations

import dataclasses

from migrator.schema.declare import c, fk, ident, ix, pk, ts_created, uq
from migrator.schema.diff import converge_table
from migrator.schema.model import Table, TableDecl, resolve_table


def table(*columns, indexes=(pk("user_id"),), foreign_keys=()) -> Table:
    return resolve_table(TableDecl("user", tuple(columns), tuple(indexes), tuple(foreign_keys)), False)


USER_ID = ident("user_id")
USERNAME = c("username", "varchar(255)")
EMAIL = c("email", "varchar(255)")
CREATED = ts_created()
WANT = table(USER_ID, USERNAME, EMAIL, CREATED, indexes=(pk("user_id"), uq("username")))


def statements(live: Table, want: Table, **kw) -> list[str]:
    return converge_table(live, want, **kw).statements()


def test_a_converged_table_is_an_empty_change():
    change = converge_table(WANT, WANT)
    assert change.empty and change.statements() == [] and change.checks == [] and not change.rebuilds


def test_a_column_added_in_its_position():
    live = table(USER_ID, EMAIL, CREATED)
    want = table(USER_ID, USERNAME, EMAIL, CREATED)
    change = converge_table(live, want)
    assert change.statements() == ["ALTER TABLE `user`\n  ADD COLUMN `username` varchar(255) NULL DEFAULT NULL "
                                   "AFTER `user_id`"]
    assert change.checks == [] and change.rebuilds


def test_a_column_added_first_and_last():
    live = table(EMAIL, indexes=())
    want = table(USERNAME, EMAIL, CREATED, indexes=())
    assert statements(live, want) == [
        "ALTER TABLE `user`\n"
        "  ADD COLUMN `username` varchar(255) NULL DEFAULT NULL FIRST,\n"
        "  ADD COLUMN `creation_time` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP AFTER `email`"]


def test_a_not_null_column_added_with_a_fill_gets_it_as_a_passing_default():
    want = table(USER_ID, c("deleted", "tinyint(1)", not_null=True), indexes=(pk("user_id"),))
    assert statements(table(USER_ID), want, fills={"deleted": "0"}) == [
        "ALTER TABLE `user`\n  ADD COLUMN `deleted` tinyint(1) NOT NULL DEFAULT 0 AFTER `user_id`",
        "ALTER TABLE `user` ALTER COLUMN `deleted` DROP DEFAULT"]


def test_a_rename_keeps_the_data_and_the_keys_on_it():
    live = table(USER_ID, c("name", "varchar(255)"), EMAIL, CREATED, indexes=(pk("user_id"), uq("username", "name")))
    change = converge_table(live, WANT, renames={"username": "name"})
    assert change.statements() == ["ALTER TABLE `user`\n  CHANGE COLUMN `name` `username` varchar(255) NULL DEFAULT NULL"]
    assert change.checks == [] and not change.rebuilds   # same type and nullability: metadata only


def test_a_rename_already_done_is_not_redone():
    assert converge_table(WANT, WANT, renames={"username": "name"}).empty


def test_a_type_change_and_not_null_check_for_the_rows_that_break_it():
    live = table(USER_ID, c("username", "varchar(30)"), EMAIL, CREATED, indexes=(pk("user_id"), uq("username")))
    want = dataclasses.replace(WANT, columns=tuple(dataclasses.replace(col, nullable=False)
                                                   if col.name == "username" else col for col in WANT.columns))
    change = converge_table(live, want)
    assert change.statements() == ["ALTER TABLE `user`\n  MODIFY COLUMN `username` varchar(255) NOT NULL"]
    assert change.checks == [("user.username has NULLs but becomes NOT NULL",
                              "SELECT COUNT(*) FROM `user` WHERE `username` IS NULL")]
    assert change.rebuilds


def test_a_narrower_column_checks_for_longer_values():
    live = table(USER_ID, USERNAME, indexes=(pk("user_id"),))
    want = table(USER_ID, c("username", "varchar(32)"), indexes=(pk("user_id"),))
    change = converge_table(live, want)
    assert change.statements() == ["ALTER TABLE `user`\n  MODIFY COLUMN `username` varchar(32) NULL DEFAULT NULL"]
    assert change.checks == [("user.username has values longer than 32 characters",
                              "SELECT COUNT(*) FROM `user` WHERE CHAR_LENGTH(`username`) > 32")]


def test_a_column_out_of_place_is_moved():
    live = table(USER_ID, EMAIL, USERNAME, CREATED, indexes=(pk("user_id"), uq("username")))
    change = converge_table(live, WANT)
    assert change.statements() == ["ALTER TABLE `user`\n  MODIFY COLUMN `username` varchar(255) NULL DEFAULT NULL "
                                   "AFTER `user_id`"]
    assert change.rebuilds


def test_a_column_the_model_lacks_is_dropped():
    live = table(USER_ID, USERNAME, c("realname", "varchar(255)"), EMAIL, CREATED,
                 indexes=(pk("user_id"), uq("username")))
    assert statements(live, WANT) == ["ALTER TABLE `user`\n  DROP COLUMN `realname`"]


def test_a_unique_key_added_alone_checks_for_duplicates():
    live = table(USER_ID, USERNAME, EMAIL, CREATED)
    change = converge_table(live, WANT)
    # Nothing else changes: one plain statement.
    assert change.statements() == ["ALTER TABLE `user`\n  ADD UNIQUE KEY `username` (`username`)"]
    assert change.checks == [(
        "user has duplicate (username) against the new unique key username",
        "SELECT COUNT(*) FROM (SELECT 1 FROM `user` WHERE `username` IS NOT NULL GROUP BY `username` "
        "HAVING COUNT(*) > 1) d")]
    assert not change.rebuilds


def test_a_unique_key_on_a_renamed_column_counts_duplicates_under_the_live_name():
    live = table(USER_ID, c("name", "varchar(255)"), EMAIL, CREATED)
    change = converge_table(live, WANT, renames={"username": "name"})
    assert change.statements() == [
        "ALTER TABLE `user`\n  CHANGE COLUMN `name` `username` varchar(255) NULL DEFAULT NULL",
        "ALTER TABLE `user` ADD UNIQUE KEY `username` (`username`), ALGORITHM=INPLACE"]
    assert change.checks == [(
        "user has duplicate (name) against the new unique key username",
        "SELECT COUNT(*) FROM (SELECT 1 FROM `user` WHERE `name` IS NOT NULL GROUP BY `name` "
        "HAVING COUNT(*) > 1) d")]


def test_no_duplicate_check_for_a_key_on_a_column_added_now_or_filled():
    live = table(USER_ID, EMAIL, CREATED)
    change = converge_table(live, WANT)
    assert change.statements() == [
        "ALTER TABLE `user`\n  ADD COLUMN `username` varchar(255) NULL DEFAULT NULL AFTER `user_id`",
        "ALTER TABLE `user` ADD UNIQUE KEY `username` (`username`), ALGORITHM=INPLACE"]
    assert change.checks == []
    filled = converge_table(table(USER_ID, USERNAME, EMAIL, CREATED), WANT, fills={"username": "''"})
    assert filled.checks == []


def test_an_index_added_beside_a_column_change_is_built_in_place_on_its_own():
    want = table(USER_ID, USERNAME, EMAIL, CREATED, indexes=(pk("user_id"), ix("email")))
    live = table(USER_ID, USERNAME, CREATED)
    assert statements(live, want) == [
        "ALTER TABLE `user`\n  ADD COLUMN `email` varchar(255) NULL DEFAULT NULL AFTER `username`",
        "ALTER TABLE `user` ADD KEY `email` (`email`), ALGORITHM=INPLACE"]


def test_an_index_dropped():
    live = table(USER_ID, USERNAME, EMAIL, CREATED, indexes=(pk("user_id"), uq("username"), ix("email")))
    change = converge_table(live, WANT)
    assert change.statements() == ["ALTER TABLE `user`\n  DROP INDEX `email`"]
    assert change.checks == [] and not change.rebuilds


def test_an_index_redefined_is_dropped_and_added_in_one_statement():
    # Together: a foreign key may need the new index in the same statement (error 1553).
    live = table(USER_ID, USERNAME, EMAIL, CREATED, indexes=(pk("user_id"), uq("username", "username", "email")))
    assert statements(live, WANT) == ["ALTER TABLE `user`\n  DROP INDEX `username`,\n"
                                      "  ADD UNIQUE KEY `username` (`username`)"]


def test_a_primary_key_change():
    name = c("username", "varchar(255)", not_null=True)
    live = table(USER_ID, name, EMAIL, CREATED, indexes=(pk("user_id", "username"), uq("username")))
    want = table(USER_ID, name, EMAIL, CREATED, indexes=(pk("user_id"), uq("username")))
    change = converge_table(live, want)
    assert change.statements() == ["ALTER TABLE `user`\n  DROP PRIMARY KEY,\n  ADD PRIMARY KEY (`user_id`)"]
    assert change.checks == [] and change.rebuilds


def test_a_column_leaving_the_primary_key_gets_its_declared_nullability():
    # In the key the server holds it NOT NULL; out of it, it is what the model declares.
    live = table(USER_ID, USERNAME, EMAIL, CREATED, indexes=(pk("user_id", "username"), uq("username")))
    assert statements(live, WANT) == ["ALTER TABLE `user`\n  DROP PRIMARY KEY,\n"
                                      "  MODIFY COLUMN `username` varchar(255) NULL DEFAULT NULL,\n"
                                      "  ADD PRIMARY KEY (`user_id`)"]


def test_a_primary_key_added_stays_with_the_column_changes():
    live = table(c("user_id", "int", not_null=True), USERNAME, EMAIL, CREATED, indexes=(uq("username"),))
    assert statements(live, WANT) == ["ALTER TABLE `user`\n"
                                      "  MODIFY COLUMN `user_id` int NOT NULL AUTO_INCREMENT,\n"
                                      "  ADD PRIMARY KEY (`user_id`)"]


def test_foreign_keys_are_dropped_first_and_added_last():
    member = c("project_id", "int", not_null=True)
    want = table(USER_ID, member, indexes=(pk("user_id"), ix("project_id")),
                 foreign_keys=(fk("fk_project", "project_id", "project", "project_id"),))
    live = table(USER_ID, member, indexes=(pk("user_id"),),
                 foreign_keys=(fk("fk_project", "project_id", "project", "id"),))
    assert statements(live, want) == [
        "ALTER TABLE `user` DROP FOREIGN KEY `fk_project`",
        "ALTER TABLE `user`\n  ADD KEY `project_id` (`project_id`)",
        "ALTER TABLE `user` ADD CONSTRAINT `fk_project` FOREIGN KEY (`project_id`) REFERENCES `project` (`project_id`)"]
    assert converge_table(want, want).empty
