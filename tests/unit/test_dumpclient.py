"""How the clients are told where to connect, and how their failures read (no server needed).

MySQL's own clients are not packaged here, so their spelling of the TLS options and
their error lines are checked as text; MariaDB's are exercised end to end by the
integration tests.
"""
from __future__ import annotations

import configparser

import pytest

from migrator.mysql.clients import Client, _option_file_text, client_error, dump_command
from migrator.errors import AuthFailed, ConnectionFailed, MissingPrivileges, SnapshotInvalid
from migrator.settings import ConnectionSettings

MARIADB = Client("/usr/bin/mariadb-dump", mariadb=True)
MYSQL = Client("/usr/bin/mysqldump", mariadb=False)


def parsed(text: str) -> dict[str, str]:
    parser = configparser.ConfigParser(allow_no_value=True)
    parser.read_string(text)
    return dict(parser["client"])


def test_tcp_with_a_ca_verifies_the_chain_in_both_spellings():
    s = ConnectionSettings(host="db.example.com", port=3307, user="harbor", password='p"w\\d', ssl_ca="/ca.pem")
    maria = parsed(_option_file_text(s, MARIADB))
    assert maria["host"] == '"db.example.com"' and maria["port"] == "3307" and maria["protocol"] == "TCP"
    assert maria["password"] == '"p\\"w\\\\d"'  # quoted, quote and backslash escaped
    assert "ssl" in maria and maria["ssl-ca"] == '"/ca.pem"' and "ssl-verify-server-cert" not in maria
    mysql = parsed(_option_file_text(s, MYSQL))
    assert mysql["ssl-mode"] == "VERIFY_CA" and "ssl" not in mysql


@pytest.mark.parametrize("fields,mode", [({"ssl_required": True}, "REQUIRED"),
                                         ({"ssl_ca": "/ca.pem", "ssl_verify_identity": True}, "VERIFY_IDENTITY")])
def test_mysql_ssl_modes(fields, mode):
    assert parsed(_option_file_text(ConnectionSettings(**fields), MYSQL))["ssl-mode"] == mode


def test_socket_and_no_password():
    opts = parsed(_option_file_text(ConnectionSettings(unix_socket="/run/mysqld/mysqld.sock"), MARIADB))
    assert opts["host"] == "localhost" and opts["socket"] == '"/run/mysqld/mysqld.sock"' and "password" not in opts
    assert "port" not in opts and "ssl" not in opts


def test_dump_command_keeps_the_password_off_the_command_line():
    args = dump_command(MYSQL, "/tmp/x.cnf", "-odd-name", ["t"])
    client = args.index("/usr/bin/mysqldump")
    assert args[client + 1] == "--defaults-file=/tmp/x.cnf"
    assert "--set-gtid-purged=OFF" in args and args[-3:] == ["--", "-odd-name", "t"]  # a name is never an option
    assert "--set-gtid-purged=OFF" not in dump_command(MARIADB, "/tmp/x.cnf", "registry")


@pytest.mark.parametrize("stderr,kind", [
    (b"mysqldump: Got error: 1045: \"Access denied for user 'h'@'x' (using password: YES)\" when trying to connect",
     AuthFailed),
    (b"mysqldump: Error 2013: Lost connection to server during query when dumping table `access_log` at row: 7",
     ConnectionFailed),
    (b"ERROR 1044 (42000) at line 3: Access denied for user 'h'@'%' to database 'registry'", MissingPrivileges),
    (b"mariadb-dump: Couldn't execute 'SHOW CREATE TABLE `x`': Table 'registry.x' doesn't exist (1146)",
     SnapshotInvalid),
    (b"ERROR 1062 (23000) at line 40: Duplicate entry '1' for key 'PRIMARY'", SnapshotInvalid),
])
def test_client_failures_become_one_line_errors(stderr, kind):
    err = client_error(MARIADB, b"Warning: Using a password on the command line\n" + stderr,
                       ConnectionSettings(password="s3cret"), "loading", SnapshotInvalid)
    assert type(err) is kind and "\n" not in err.message and "s3cret" not in err.message
    if kind is SnapshotInvalid:
        assert err.message.startswith("loading failed: ")


def test_the_dump_client_writes_through_a_big_stdout_buffer_where_stdbuf_exists(monkeypatch):
    from migrator.mysql import clients as dumpclient

    monkeypatch.setattr(dumpclient, "find_binary", lambda names: "/usr/bin/stdbuf" if "stdbuf" in names else None)
    dumpclient._stdbuf.cache_clear()
    try:
        assert dump_command(MARIADB, "/tmp/x.cnf", "registry")[:3] == ["/usr/bin/stdbuf", "-o1048576",
                                                                         MARIADB.path]
        monkeypatch.setattr(dumpclient, "find_binary", lambda names: None)
        dumpclient._stdbuf.cache_clear()
        assert dump_command(MARIADB, "/tmp/x.cnf", "registry")[0] == MARIADB.path
    finally:
        dumpclient._stdbuf.cache_clear()


@pytest.mark.parametrize("columns, charset", [
    ([("int", None), ("varchar", "utf8mb3"), ("timestamp", None), ("text", "utf8mb4"), ("enum", "ascii")], "binary"),
    ([("int", None), ("varchar", "utf8")], "binary"),
    ([("int", None), ("varchar", "latin1")], "utf8mb4"),
    ([("int", None), ("varbinary", None)], "utf8mb4"),
    ([("blob", None)], "utf8mb4"),
    ([("json", None)], "utf8mb4"),
    ([("bit", None)], "utf8mb4"),
])
def test_the_dump_charset_is_binary_only_where_it_writes_the_same_utf8_text(columns, charset):
    from migrator.mysql.clients import charset_options, dump_charset

    assert dump_charset(columns) == charset
    assert ("--hex-blob" in charset_options(charset)) == (charset == "utf8mb4")
    assert f"--default-character-set={charset}" in dump_command(MARIADB, "/tmp/x.cnf", "registry", charset=charset)
