"""The dump-text readers: statement splitting, row digests, index deferral, the audit-log merge.

The inputs are written here the way mariadb-dump (one row per line) and mysqldump
(one statement per line) write them, with the values that trip naive parsers:
escaped quotes and newlines, parentheses, commas and ``;`` inside strings.
"""
from __future__ import annotations

import hashlib

import pytest

from migrator.mysql.dumptext import TableScan, insert_statements, rows_of, split_create_table, split_inserts, \
    strip_secondary_indexes
from migrator.verify.dumped_rows import _merge, _picked, fields

ROWS = [b"(1,'plain',NULL)", b"(2,'it\\'s (a) \\\"test\\\", ok;',0x00FF)", b"(3,'line\\nbreak);\\r',7)",
        b"(4,'',-1)", b"(5,'\\\\',2.5)"]
HEADER = b"-- MariaDB dump\n/*!40101 SET NAMES utf8mb4 */;\n\n--\n-- Table structure for table `t`\n--\n\n"
TRAILER = b"UNLOCK TABLES;\n/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n\n-- Dump completed\n"


def mariadb_form(rows: list[bytes], per_statement: int) -> bytes:
    parts = [b"INSERT INTO `t` VALUES\n" + b",\n".join(rows[i:i + per_statement]) + b";\n"
             for i in range(0, len(rows), per_statement)]
    return HEADER + b"LOCK TABLES `t` WRITE;\n" + b"".join(parts) + TRAILER


def mysql_form(rows: list[bytes], per_statement: int) -> bytes:
    parts = [b"INSERT INTO `t` VALUES " + b",".join(rows[i:i + per_statement]) + b";\n"
             for i in range(0, len(rows), per_statement)]
    return HEADER + b"LOCK TABLES `t` WRITE;\n" + b"".join(parts) + TRAILER


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def scan(data: bytes, size: int) -> tuple[int, str]:
    return TableScan().consume(chunked(data, size)).result(["t"])["t"]


EXPECTED = (len(ROWS), hashlib.sha256(b",\n".join(ROWS)).hexdigest())


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("per_statement", [1, 2, 5])
def test_digest_and_count_do_not_depend_on_chunks_statements_or_client(size, per_statement):
    assert scan(mariadb_form(ROWS, per_statement), size) == EXPECTED
    assert scan(mysql_form(ROWS, per_statement), size) == EXPECTED


@pytest.mark.parametrize("size", [3, 64, 1 << 20])
def test_rows_full_of_semicolons_are_read_whole(size):
    """``;`` is searched alone first (fast); past many that end nothing, the two-byte search takes over."""
    rows = [b"(1,'" + b";" * 300 + b"')", b"(2,'a;b;;c;\\n;')", b"(3,';')"]
    want = (3, hashlib.sha256(b",\n".join(rows)).hexdigest())
    for per_statement in (1, 3):
        assert scan(mariadb_form(rows, per_statement), size) == want
        assert scan(mysql_form(rows, per_statement), size) == want


def test_a_changed_value_changes_the_digest_and_empty_tables_have_none():
    changed = [ROWS[0], b"(2,'it\\'s (a) \\\"test\\\", ok!',0x00FF)"] + ROWS[2:]
    assert scan(mariadb_form(changed, 2), 64) != EXPECTED
    assert TableScan().consume([HEADER]).result(["t"]) == {"t": (0, hashlib.sha256().hexdigest())}


def test_rows_of_both_forms():
    assert rows_of(b"\n" + b",\n".join(ROWS)) == ROWS
    assert rows_of(b" " + b",".join(ROWS)) == ROWS


@pytest.mark.parametrize("size", [1, 5, 13, 4096])
def test_split_inserts_keeps_every_byte_and_each_insert_whole(size):
    data = mariadb_form(ROWS, 2) + mysql_form(ROWS, 3).replace(b"`t`", b"`u``v`")
    pieces = list(split_inserts(chunked(data, size)))
    assert b"".join(text for _, text in pieces) == data
    inserts = [(table, text) for table, text in pieces if table]
    assert [t for t, _ in inserts] == ["t"] * 3 + ["u`v"] * 2
    assert all(text.startswith(b"INSERT INTO `") and text.endswith(b";\n") for _, text in inserts)
    assert [r for _, v in insert_statements(chunked(data, size)) for r in rows_of(v)] == ROWS + ROWS


CREATE = """CREATE TABLE `access_log` (
  `log_id` int(11) NOT NULL AUTO_INCREMENT,
  `user_id` int(11) NOT NULL,
  `note` varchar(20) DEFAULT 'KEY `x`,',
  PRIMARY KEY (`log_id`),
  UNIQUE KEY `guid` (`note`),
  KEY `pid_optime` (`user_id`,`log_id`),
  KEY `user_id` (`user_id`),
  CONSTRAINT `fk_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`user_id`) ON DELETE CASCADE,
  CONSTRAINT `positive` CHECK (`log_id` > 0)
) ENGINE=InnoDB AUTO_INCREMENT=9 DEFAULT CHARSET=utf8mb3"""


def test_split_create_table_defers_plain_keys_and_foreign_keys_only():
    create, clauses = split_create_table(CREATE)
    assert clauses == ["ADD KEY `pid_optime` (`user_id`,`log_id`)", "ADD KEY `user_id` (`user_id`)",
                       "ADD CONSTRAINT `fk_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`user_id`) "
                       "ON DELETE CASCADE"]
    assert "PRIMARY KEY (`log_id`)," in create and "UNIQUE KEY `guid` (`note`)," in create
    assert create.endswith("  CONSTRAINT `positive` CHECK (`log_id` > 0)\n) ENGINE=InnoDB AUTO_INCREMENT=9 "
                           "DEFAULT CHARSET=utf8mb3")
    assert "DEFAULT 'KEY `x`,'," in create  # a column is never taken for a key
    plain = CREATE.replace(",\n  KEY `pid_optime` (`user_id`,`log_id`)", "").replace(",\n  KEY `user_id` (`user_id`)", "")
    plain = plain.replace(",\n  CONSTRAINT `fk_user` FOREIGN KEY (`user_id`) REFERENCES `user` (`user_id`) "
                          "ON DELETE CASCADE", "")
    assert create == plain


@pytest.mark.parametrize("size", [1, 9, 100, 1 << 20])
def test_strip_secondary_indexes_across_chunks(size):
    data = HEADER + b"DROP TABLE IF EXISTS `access_log`;\n" + CREATE.encode() + b";\n" + mariadb_form(ROWS, 2)
    deferred: list = []
    out = b"".join(strip_secondary_indexes(chunked(data, size), deferred))
    assert out == data.replace(CREATE.encode(), split_create_table(CREATE)[0].encode())
    assert deferred == [("access_log", split_create_table(CREATE)[1])]


def test_audit_log_merge_names_missing_new_and_changed_ids():
    before = [b"(1,1,'a')", b"(2,2,'b')", b"(3,3,'c')", b"(5,5,'e')"]
    now = [b"(1,'alice','a')", b"(3,'carol','C')", b"(4,'dave','d')", b"(5,'eve','e')", b"(6,'x','f')"]
    names = {b"1": b"'alice'", b"3": b"'carol'", b"5": b"'eve'"}

    def reshape(row: bytes) -> bytes:
        log_id, user_id, rest = row.split(b",", 2)
        return log_id + b"," + names.get(user_id, b"''") + b"," + rest

    found = _merge(iter(before), iter(now), reshape, lambda row: row)
    assert found["counts"] == {"missing": 1, "new": 2, "changed": 1}
    assert (found["missing"], found["new"], found["changed"]) == ([2], [4, 6], [3])
    assert (found["before"], found["now"]) == (4, 5)


def test_fields_keep_quoted_values_whole():
    row = b"(7,'a,b',NULL,'it\\'s (x), ok',0x2C27,_binary 'q,r',-2.5e3,'\\\\')"
    assert fields(row) == [b"7", b"'a,b'", b"NULL", b"'it\\'s (x), ok'", b"0x2C27", b"_binary 'q,r'", b"-2.5e3",
                           b"'\\\\'"]
    assert all(fields(r)[0] == str(n).encode() for n, r in enumerate(ROWS, 1))


def test_rows_are_cut_down_to_the_snapshots_columns_by_name():
    pick = _picked(["id", "status", "job_uuid", "tags", "creation_time"], ["id", "status", "tags", "creation_time"])
    assert pick(b"(4,'finished','u-1','a,b','2017-01-01 00:00:00')") == b"(4,'finished','a,b','2017-01-01 00:00:00')"
    before = [b"(1,'done','x')", b"(2,'done','y')"]
    now = [b"(1,'done',NULL,'x')", b"(2,'done','uuid','Y')"]
    found = _merge(iter(before), iter(now), lambda row: row, _picked(["id", "status", "job_uuid", "tags"],
                                                                     ["id", "status", "tags"]))
    assert found["counts"] == {"missing": 0, "new": 0, "changed": 1} and found["changed"] == [2]
