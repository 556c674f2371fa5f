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
    assert kw["unix_socket"] == "/run/mysqld/mysqld.sock" and kw["ssl"] == {"ca": "/etc/ca.pem"}


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
