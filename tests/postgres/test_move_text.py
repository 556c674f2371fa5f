"""The COPY text that MySQL renders (conversions.copy_line_sql) against the Python conversions, on
real servers, for the values COPY's text format must escape: every row PostgreSQL reads from the
server-rendered lines equals the driver's values after ``row_converter``."""
from __future__ import annotations

import datetime as dt

from migrator.move import conversions as conv
from migrator.mysql.connection import connect
from migrator.mysql.stream import SnapshotReader

TRICKY = ["back\\slash", "tab\there", "new\nline", "carriage\rreturn", "\\N", "\\\\N\t\\t", "NULL",
          "zhang张三", "юлия", "emoji 🚢", "o'brien", "", " trailing "]


def test_server_rendered_lines_equal_the_python_conversions(dbs_off, pg_dbs):
    move = conv.by_name("harbor_user")
    name = dbs_off.create("text", charset="utf8mb4")
    settings = dbs_off.server.settings(name)
    with connect(settings) as db:
        db.execute("SET SESSION sql_mode = ''")    # the zero date, as old Harbor databases hold it
        db.execute("CREATE TABLE user (user_id int PRIMARY KEY, username varchar(255), email varchar(255), "
                   "password varchar(40), realname varchar(255), comment varchar(30), deleted tinyint(1), "
                   "reset_uuid varchar(40), salt varchar(40), sysadmin_flag tinyint(1), "
                   "creation_time timestamp NULL, update_time datetime NULL)")
        for i, text in enumerate(TRICKY, start=1):
            db.execute("INSERT INTO user VALUES (%s, %s, %s, 'h', %s, %s, %s, NULL, %s, %s, %s, %s)",
                       (i, f"u{i}{text}", text, text, text[:30], i % 3, text[:40], [None, 0, 1, 7][i % 4],
                        "2018-03-04 05:06:07", "0000-00-00 00:00:00" if i % 2 else "2019-12-31 23:59:59"))
        rows = db.query(f"SELECT {', '.join(f'`{c}`' for c in move.source_columns)} FROM user ORDER BY user_id")
    expected = [conv.row_converter(move)(r) for r in rows]

    target = pg_dbs.create("text")
    with pg_dbs.connect(target) as pg, SnapshotReader(settings) as reader:
        pg.execute(f"CREATE TABLE harbor_user ({', '.join(c.render() for c in move.target.columns)})")
        with pg.copy_in(move.name, move.target_columns) as copy:
            for _, data in reader.chunks("user", conv.copy_line_sql(move), "user_id", batch_rows=4):
                copy.write(data)
        got = pg.query(f"SELECT {', '.join(move.target_columns)} FROM harbor_user ORDER BY user_id")
    assert got == expected
    assert got[0][2] == "back\\slash" and got[3][2] == "carriage\rreturn" and got[4][2] == "\\N"
    assert got[0][-1] == dt.datetime(1, 1, 1)            # the zero date as Harbor writes it
    assert [r[9] for r in got[:4]] == [False, True, True, False]   # sysadmin_flag: NULL -> false (NOT NULL)
