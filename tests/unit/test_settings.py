"""DSN parsing, precedence and masking: no server needed."""
from __future__ import annotations

import pytest

from migrator.errors import UsageError
from migrator.settings import ConnectionSettings, mask_dsn, parse_dsn, resolve_connection


def test_parse_full_dsn_with_special_password():
    f = parse_dsn("mysql://harbor:p%40ss%3Aw@db.example.com:3307/registry_prod")
    assert f == {"host": "db.example.com", "port": 3307, "user": "harbor", "password": "p@ss:w",
                 "database": "registry_prod"}


def test_parse_pymysql_socket_and_tls():
    f = parse_dsn("mysql+pymysql://root@localhost/registry?unix_socket=/run/mysqld/mysqld.sock"
                  "&ssl_ca=/etc/ca.pem&ssl=required")
    assert f["unix_socket"] == "/run/mysqld/mysqld.sock" and f["ssl_ca"] == "/etc/ca.pem" and f["ssl_required"]
    s = ConnectionSettings(**f)
    kw = s.pymysql_kwargs()
    assert kw["unix_socket"] == "/run/mysqld/mysqld.sock"
    assert kw["ssl"] == {"ca": "/etc/ca.pem", "verify_mode": True, "check_hostname": False}
    assert not any(k.startswith("ssl_") for k in kw), "PyMySQL would rebuild the ssl dict without the CA"


def test_a_plain_socket_skips_tls_and_tcp_keeps_the_drivers_preferred_tls():
    socket = ConnectionSettings(unix_socket="/run/mysqld/mysqld.sock", database="registry").pymysql_kwargs()
    assert socket["ssl_disabled"] is True and "ssl" not in socket
    tcp = ConnectionSettings(host="db.example.com", database="registry").pymysql_kwargs()
    assert not any(k.startswith("ssl") for k in tcp)


@pytest.mark.parametrize("bad", ["postgresql://u@h/db", "not a dsn", "mysql://u@h/db?foo=bar"])
def test_bad_dsns(bad):
    with pytest.raises(UsageError):
        parse_dsn(bad)


def test_masking_everywhere():
    s = ConnectionSettings(host="h", user="u", password="topsecret", database="d")
    assert "topsecret" not in s.masked_dsn() and "u:***@h:3306/d" in s.masked_dsn()
    assert "topsecret" not in repr(s)
    assert mask_dsn("failed mysql://u:topsecret@h/d now") == "failed mysql://u:***@h/d now"


def test_precedence_flag_over_env_over_file(tmp_path):
    cfg = tmp_path / "hm.ini"
    cfg.write_text("[connection]\nhost = filehost\nport = 1111\nuser = fileuser\ndatabase = filedb\n")
    env = {"HARBOR_MIGRATE_HOST": "envhost", "HARBOR_MIGRATE_PASSWORD": "envpw"}
    s = resolve_connection({"host": None, "port": 2222}, environ=env, config_file=str(cfg))
    assert (s.host, s.port, s.user, s.database, s.password) == ("envhost", 2222, "fileuser", "filedb", "envpw")
    s = resolve_connection({}, environ={})
    assert (s.host, s.port, s.user, s.database) == ("127.0.0.1", 3306, "root", "registry")


def test_password_file_and_flag_dsn_wins(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("from-file\n")
    s = resolve_connection({"dsn": "mysql://a:dsnpw@h:1/x", "password_file": str(pw)}, environ={
        "HARBOR_MIGRATE_DSN": "mysql://b:envpw@e:2/y"})
    assert (s.user, s.host, s.port, s.database, s.password) == ("a", "h", 1, "x", "from-file")


def test_unreadable_password_file():
    with pytest.raises(UsageError, match="cannot read the password file"):
        resolve_connection({"password_file": "/nonexistent/pw"}, environ={})


def test_where_the_server_is_comes_from_one_layer():
    """A socket from the environment does not survive a --dsn naming a host (and vice versa)."""
    env = {"HARBOR_MIGRATE_SOCKET": "/run/mysqld.sock", "HARBOR_MIGRATE_PORT": "3307"}
    s = resolve_connection({"dsn": "mysql://u@db.example.com/registry"}, environ=env)
    assert (s.host, s.port, s.unix_socket) == ("db.example.com", 3306, None)
    s = resolve_connection({"socket": "/tmp/other.sock"}, environ={"HARBOR_MIGRATE_HOST": "h", "HARBOR_MIGRATE_PORT": "1"})
    assert s.unix_socket == "/tmp/other.sock" and s.host == "127.0.0.1"
    s = resolve_connection({"port": 3310}, environ={"HARBOR_MIGRATE_HOST": "h"})
    assert (s.host, s.port) == ("h", 3310)  # a lone port refines, it does not move the server


def test_config_file_socket_key(tmp_path):
    cfg = tmp_path / "c.ini"
    cfg.write_text("[connection]\nsocket = /var/run/mysqld/mysqld.sock\n")
    assert resolve_connection({}, environ={}, config_file=str(cfg)).unix_socket == "/var/run/mysqld/mysqld.sock"


def test_row_format_clause_for_servers_without_a_default_row_format():
    from migrator.mysql.connection import row_format_clause

    assert row_format_clause({"innodb_default_row_format": "dynamic"}) == ""  # MySQL 5.7.9+, MariaDB 10.2+
    assert row_format_clause({"innodb_file_format": "Barracuda", "innodb_large_prefix": "ON"}) == " ROW_FORMAT=DYNAMIC"
    assert row_format_clause({"innodb_file_format": "Antelope", "innodb_large_prefix": "OFF"}) == ""  # 5.6 default
