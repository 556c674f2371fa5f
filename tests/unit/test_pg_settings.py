"""PostgreSQL DSN parsing and masking (server-free)."""
from __future__ import annotations

import pytest

from migrator.errors import ExitCode, UsageError
from migrator.postgres.settings import PgSettings, parse_pg_dsn, quote_ident, quote_literal
from migrator.settings import mask_dsn


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+psycopg"])
def test_schemes(scheme):
    assert parse_pg_dsn(f"{scheme}://harbor:pw@db.example.com:5433/registry") == {
        "host": "db.example.com", "port": 5433, "user": "harbor", "password": "pw", "database": "registry"}


def test_only_what_the_dsn_states():
    assert parse_pg_dsn("postgresql://db.example.com") == {"host": "db.example.com"}
    assert parse_pg_dsn("postgresql://harbor@db/") == {"host": "db", "user": "harbor"}
    s = PgSettings.from_dsn("postgresql://db.example.com")
    assert (s.host, s.port, s.user, s.database, s.password) == ("db.example.com", 5432, "postgres", "registry", None)


def test_percent_encoded_user_password_and_database():
    fields = parse_pg_dsn("postgresql://har%40bor:p%40ss%3Aw%2Fo%23rd@db:5432/reg%20istry")
    assert (fields["user"], fields["password"], fields["database"]) == ("har@bor", "p@ss:w/o#rd", "reg istry")


def test_an_empty_password_is_stated():
    assert parse_pg_dsn("postgresql://harbor:@db/registry")["password"] == ""


def test_tls_parameters():
    fields = parse_pg_dsn("postgresql://h@db/registry?sslmode=verify-full&sslrootcert=/etc/ca.pem"
                          "&sslcert=/etc/c.pem&sslkey=/etc/k.pem&connect_timeout=5")
    assert fields["sslmode"] == "verify-full" and fields["sslrootcert"] == "/etc/ca.pem"
    assert (fields["sslcert"], fields["sslkey"], fields["connect_timeout"]) == ("/etc/c.pem", "/etc/k.pem", 5)
    kwargs = PgSettings.from_dsn("postgresql://h:pw@db/registry?sslmode=require").psycopg_kwargs()
    assert kwargs["sslmode"] == "require" and kwargs["dbname"] == "registry" and kwargs["password"] == "pw"
    assert "sslrootcert" not in kwargs


def test_unix_socket_directory():
    s = PgSettings.from_dsn("postgresql://harbor@/registry?host=/run/postgresql&port=5433")
    assert (s.host, s.port, s.unix_socket_dir) == ("/run/postgresql", 5433, "/run/postgresql")
    assert PgSettings.from_dsn("postgresql://harbor@%2Frun%2Fpostgresql/registry").unix_socket_dir == "/run/postgresql"
    assert PgSettings(host="db").unix_socket_dir is None
    assert s.masked_dsn() == "postgresql://harbor@/registry?host=/run/postgresql&port=5433"
    assert PgSettings.from_dsn(s.dsn()) == s


def test_ipv6_host():
    s = PgSettings.from_dsn("postgresql://h:pw@[::1]:6432/registry")
    assert (s.host, s.port) == ("::1", 6432)
    assert s.masked_dsn() == "postgresql://h:***@[::1]:6432/registry"


def test_masked_dsn_never_shows_the_password():
    s = PgSettings.from_dsn("postgresql://harbor:topsecret@db:5432/registry?sslmode=require")
    assert s.masked_dsn() == "postgresql://harbor:***@db:5432/registry?sslmode=require"
    assert "topsecret" not in repr(s) and "topsecret" not in s.describe()
    assert s.describe() == "harbor@db:5432/registry"
    assert PgSettings(user="harbor", host="db").masked_dsn() == "postgresql://harbor@db:5432/registry"


def test_dsn_round_trips_with_odd_passwords():
    for password in ("p@ss:w/o#rd?&=", "ünï", "a b%20c"):
        s = PgSettings(host="db", user="harbor", password=password, database="registry")
        assert PgSettings.from_dsn(s.dsn()) == s
        assert password not in s.masked_dsn()


def test_mask_any_dsn_in_text():
    assert mask_dsn("see postgresql://u:pw@h/db now") == "see postgresql://u:***@h/db now"
    assert mask_dsn("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.parametrize("dsn, words", [
    ("mysql://u:pw@h/db", "unsupported DSN scheme 'mysql://'"),
    ("postgresql://u:secret@h:notaport/db", "cannot parse the DSN"),
    ("postgresql://u@h:70000/db", "cannot parse the DSN"),
    ("postgresql://u@h/db?sslmode=sometimes", "sslmode='sometimes'"),
    ("postgresql://u@h/db?application_name=x", "unknown DSN parameter 'application_name'"),
    ("postgresql://u@h/db?connect_timeout=soon", "connect_timeout='soon' is not a number"),
    ("postgresql://u@h/db/extra", "one database name"),
    ("registry", "unsupported DSN scheme"),
])
def test_bad_dsns_are_usage_errors(dsn, words):
    with pytest.raises(UsageError) as info:
        parse_pg_dsn(dsn)
    assert words in info.value.message and info.value.exit_code == ExitCode.USAGE
    assert "secret" not in info.value.message


def test_quoting():
    assert quote_ident('we"ird') == '"we""ird"'
    assert quote_literal("o'brien\\") == "'o''brien\\'"
    with pytest.raises(UsageError):
        quote_literal("nul\x00")
