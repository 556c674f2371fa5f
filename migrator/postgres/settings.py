"""The PostgreSQL target's settings and DSN: parsing, masking, quoting; no driver here.

Kept apart from ``connection`` so that resolving ``--target-dsn`` (which every ``upgrade``
does, also inside the downtime window of a MySQL-only run) does not load psycopg.
"""
from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from ..errors import UsageError
from ..settings import MASK, mask_dsn   # one masking rule for every DSN, MySQL's and PostgreSQL's

SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_PARAMS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "host", "port", "connect_timeout")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A string literal for statements that take no parameters (CREATE ROLE … PASSWORD).

    Doubling quotes is enough because ``standard_conforming_strings`` is on (the
    default since PostgreSQL 9.1): a backslash is an ordinary character.
    """
    if "\x00" in value:
        raise UsageError("a PostgreSQL string cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"


@dataclasses.dataclass(frozen=True)
class PgSettings:
    """Everything needed to reach one PostgreSQL database; ``repr`` never shows the password.

    ``host`` starting with ``/`` is a Unix socket directory (libpq's rule); the
    port then names the socket file ``.s.PGSQL.<port>`` in it.
    """

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str | None = dataclasses.field(default=None, repr=False)
    database: str = "registry"
    sslmode: str | None = None
    sslrootcert: str | None = None
    sslcert: str | None = None
    sslkey: str | None = None
    connect_timeout: int = 10

    @classmethod
    def from_dsn(cls, dsn: str) -> "PgSettings":
        return cls(**parse_pg_dsn(dsn))

    @property
    def unix_socket_dir(self) -> str | None:
        return self.host if self.host.startswith("/") else None

    def with_database(self, database: str) -> "PgSettings":
        return dataclasses.replace(self, database=database)

    def describe(self) -> str:
        """Short human form used in messages: ``user@host:port/db``."""
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def masked_dsn(self) -> str:
        """The DSN to show a human: the password, if any, is replaced by ``***``."""
        return self._dsn(MASK if self.password else None)

    def dsn(self) -> str:
        """The DSN with the password in clear (for handing to another process, never to print)."""
        return self._dsn(quote(self.password, safe="") if self.password else None)

    def _dsn(self, password: str | None) -> str:
        auth = quote(self.user, safe="") + (":" + password if password else "")
        params: list[tuple[str, str]] = []
        if self.unix_socket_dir:
            where = ""
            params += [("host", self.host), ("port", str(self.port))]
        else:
            host = f"[{self.host}]" if ":" in self.host else self.host
            where = f"{host}:{self.port}"
        for name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            value = getattr(self, name)
            if value:
                params.append((name, value))
        query = "&".join(f"{k}={quote(v, safe='/')}" for k, v in params)
        return f"postgresql://{auth}@{where}/{quote(self.database, safe='')}" + ("?" + query if query else "")

    def psycopg_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host, "port": self.port, "user": self.user, "dbname": self.database,
            "connect_timeout": self.connect_timeout, "application_name": "harbor-migrate",
        }
        # What is left unset here, libpq takes from its own sources as psql does (~/.pgpass,
        # PGSSLMODE, …): a DBA's usual setup works, and nothing of ours reads them.
        if self.password is not None:
            kwargs["password"] = self.password
        for name in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
            value = getattr(self, name)
            if value:
                kwargs[name] = value
        return kwargs


def parse_pg_dsn(dsn: str) -> dict[str, Any]:
    """``postgresql://user[:password]@host:port/db?sslmode=…`` into PgSettings fields.

    Also ``postgres://`` and ``postgresql+psycopg://``; a socket directory as
    ``?host=/run/postgresql`` or percent-encoded in the host part. Returns only
    what the DSN states, so that defaults and precedence stay the caller's.
    """
    shown = mask_dsn(dsn)
    try:
        url = urlsplit(dsn)
        port = url.port
    except ValueError:
        raise UsageError(f"cannot parse the DSN {shown!r}: expected postgresql://user:password@host:port/database") from None
    if url.scheme not in SCHEMES:
        raise UsageError(f"unsupported DSN scheme {url.scheme + '://' if url.scheme else shown!r}: "
                         "use postgresql:// (or postgres://, postgresql+psycopg://)")
    fields: dict[str, Any] = {}
    netloc_host = url.netloc.rpartition("@")[2]
    if netloc_host.startswith("["):
        host = netloc_host[1:].partition("]")[0]
    else:
        host = unquote(netloc_host.rpartition(":")[0] if port is not None else netloc_host)
    if host:
        fields["host"] = host
    if port is not None:
        fields["port"] = port
    if url.username:
        fields["user"] = unquote(url.username)
    if url.password is not None:
        fields["password"] = unquote(url.password)
    database = unquote(url.path.lstrip("/"))
    if "/" in database:
        raise UsageError(f"cannot parse the DSN {shown!r}: the path must be one database name")
    if database:
        fields["database"] = database
    for key, value in parse_qsl(url.query, keep_blank_values=True):
        if key not in _PARAMS:
            raise UsageError(f"unknown DSN parameter {key!r}: known are {', '.join(_PARAMS)}")
        if key in ("port", "connect_timeout"):
            if not value.isdigit():
                raise UsageError(f"DSN parameter {key}={value!r} is not a number")
            fields[key] = int(value)
        elif key == "sslmode" and value not in SSLMODES:
            raise UsageError(f"sslmode={value!r} is not one of {', '.join(SSLMODES)}")
        else:
            fields[key] = value
    if "port" in fields and not 0 < fields["port"] < 65536:
        raise UsageError(f"port {fields['port']} in the DSN is out of range")
    return fields
