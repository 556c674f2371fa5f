"""Connection settings: parsing, precedence and masking.

Precedence is flag > ``HARBOR_MIGRATE_*`` environment > config file > default.
This is the only module that reads the environment, so the table in
docs/configuration.md stays true. Passwords are accepted from a DSN, the
environment, a file or a prompt, and never rendered back unmasked.
"""
from __future__ import annotations

import configparser
import dataclasses
import os
import pathlib
import re
from typing import Any, Mapping
from urllib.parse import quote

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .errors import UsageError

ENV_PREFIX = "HARBOR_MIGRATE_"
MASK = "***"

# Query parameters a DSN may carry, mapped to ConnectionSettings fields.
_SSL_PARAMS = {
    "ssl_ca": "ssl_ca",
    "ssl-ca": "ssl_ca",
    "ssl_cert": "ssl_cert",
    "ssl-cert": "ssl_cert",
    "ssl_key": "ssl_key",
    "ssl-key": "ssl_key",
}
_TRUE = {"1", "true", "yes", "on", "required", "verify_identity", "verify_ca"}


@dataclasses.dataclass(frozen=True)
class ConnectionSettings:
    """Everything needed to reach one database; ``repr`` never shows the password."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str | None = dataclasses.field(default=None, repr=False)
    database: str = "registry"
    unix_socket: str | None = None
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None
    ssl_required: bool = False
    ssl_verify_identity: bool = False
    charset: str = "utf8mb4"
    connect_timeout: int = 10

    def with_database(self, database: str) -> "ConnectionSettings":
        return dataclasses.replace(self, database=database)

    def masked_dsn(self) -> str:
        """The DSN to show a human: the password, if any, is replaced by ``***``."""
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + MASK
        where = f"{self.host}:{self.port}" if not self.unix_socket else "localhost"
        dsn = f"mysql://{auth}@{where}/{self.database}"
        params = []
        if self.unix_socket:
            params.append(f"unix_socket={self.unix_socket}")
        for name in ("ssl_ca", "ssl_cert", "ssl_key"):
            value = getattr(self, name)
            if value:
                params.append(f"{name}={value}")
        if self.ssl_required:
            params.append("ssl=required")
        return dsn + ("?" + "&".join(params) if params else "")

    def describe(self) -> str:
        """Short human form used in messages: ``user@host:port/db``."""
        where = self.unix_socket if self.unix_socket else f"{self.host}:{self.port}"
        return f"{self.user}@{where}/{self.database}"

    def server_key(self) -> str:
        """A file-name-safe identity of the server+database (for state files)."""
        where = self.unix_socket or f"{self.host}_{self.port}"
        raw = f"{where}_{self.database}"
        return "".join(c if c.isalnum() or c in "-_." else "_" for c in raw)

    def pymysql_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "user": self.user,
            "password": self.password or "",
            "database": self.database,
            "charset": self.charset,
            "connect_timeout": self.connect_timeout,
            "autocommit": True,
        }
        if self.unix_socket:
            kwargs["unix_socket"] = self.unix_socket
        else:
            kwargs["host"] = self.host
            kwargs["port"] = self.port
        if self.ssl_ca or self.ssl_cert or self.ssl_key or self.ssl_required:
            # Everything in the one ``ssl`` dict: PyMySQL rebuilds that dict (dropping its "ca")
            # when any ssl_* keyword is passed beside it. A CA means the chain is verified.
            ssl: dict[str, Any] = {"verify_mode": bool(self.ssl_ca), "check_hostname": self.ssl_verify_identity}
            for key, value in (("ca", self.ssl_ca), ("cert", self.ssl_cert), ("key", self.ssl_key)):
                if value:
                    ssl[key] = value
            kwargs["ssl"] = ssl
        elif self.unix_socket:
            # No TLS asked for on a local socket: PyMySQL would otherwise build a TLS context
            # (~25 ms of CPU per connection) to try an unverified handshake a socket never needs.
            kwargs["ssl_disabled"] = True
        return kwargs


def parse_dsn(dsn: str) -> dict[str, Any]:
    """Parse ``mysql://`` / ``mysql+pymysql://`` / ``mariadb://`` DSNs into fields.

    Returns only what the DSN states, so that precedence can be applied.
    """
    try:
        url = make_url(dsn)
    except ArgumentError as exc:
        raise UsageError(f"cannot parse the DSN {mask_dsn(dsn)!r}: expected mysql://user:password@host:port/database") from None
    backend = url.get_backend_name()
    if backend not in ("mysql", "mariadb"):
        raise UsageError(f"unsupported DSN scheme {url.drivername!r}: use mysql:// or mysql+pymysql://")
    fields: dict[str, Any] = {}
    if url.host:
        fields["host"] = url.host
    if url.port:
        fields["port"] = int(url.port)
    if url.username:
        fields["user"] = url.username
    if url.password is not None:
        fields["password"] = str(url.password)
    if url.database:
        fields["database"] = url.database
    for key, value in url.query.items():
        if isinstance(value, tuple):
            value = value[-1]
        if key in ("unix_socket", "socket"):
            fields["unix_socket"] = value
        elif key in _SSL_PARAMS:
            fields[_SSL_PARAMS[key]] = value
        elif key in ("ssl", "ssl_mode", "ssl-mode", "sslmode"):
            fields["ssl_required"] = value.lower() in _TRUE
            if value.lower() == "verify_identity":
                fields["ssl_verify_identity"] = True
        elif key == "charset":
            fields["charset"] = value
        elif key == "connect_timeout":
            fields["connect_timeout"] = int(value)
        else:
            raise UsageError(f"unknown DSN parameter {key!r}: known are unix_socket, ssl_ca, ssl_cert, ssl_key, ssl, charset, connect_timeout")
    return fields


def mask_dsn(text: str) -> str:
    """Mask the password of any DSN-looking string (best effort, for messages)."""
    return re.sub(r"(://[^:/@\s]*:)[^@\s]*@", r"\1" + MASK + "@", text)


def _env(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(ENV_PREFIX + name)
    return value if value not in (None, "") else None


def _read_password_file(path: str) -> str:
    try:
        return pathlib.Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except OSError as exc:
        raise UsageError(f"cannot read the password file {path}: {exc.strerror}") from None


def _config_file_fields(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    parser = configparser.ConfigParser()
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except OSError as exc:
        raise UsageError(f"cannot read the config file {path}: {exc.strerror}") from None
    if not parser.has_section("connection"):
        return {}
    section = dict(parser.items("connection"))
    fields: dict[str, Any] = {}
    if "dsn" in section:
        fields.update(parse_dsn(section.pop("dsn")))
    if "password_file" in section:
        fields["password"] = _read_password_file(section.pop("password_file"))
    for key, value in section.items():
        if key in ("host", "user", "database", "unix_socket", "ssl_ca", "ssl_cert", "ssl_key", "charset"):
            fields[key] = value
        elif key == "socket":
            fields["unix_socket"] = value
        elif key == "port":
            fields["port"] = int(value)
        elif key == "password":
            fields["password"] = value
    return fields


def resolve_connection(
    flags: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | None = None,
    env_prefix_name: str = "",
) -> ConnectionSettings:
    """Merge the connection from flags, environment and config file.

    ``flags`` holds ``dsn``, ``host``, ``port``, ``user``, ``database``,
    ``socket``, ``password_file``, ``ssl_*`` as given on the command line (None
    when absent). ``env_prefix_name`` distinguishes a second connection
    (``TARGET_`` gives ``HARBOR_MIGRATE_TARGET_DSN`` …).
    """
    flags = {k: v for k, v in (flags or {}).items() if v not in (None, "")}
    environ = os.environ if environ is None else environ
    p = env_prefix_name

    merged: dict[str, Any] = {}
    _layer(merged, _config_file_fields(config_file or _env(environ, "CONFIG")))

    env_fields: dict[str, Any] = {}
    if _env(environ, p + "DSN"):
        env_fields.update(parse_dsn(_env(environ, p + "DSN")))
    for name, field in (("HOST", "host"), ("USER", "user"), ("DATABASE", "database"),
                        ("SOCKET", "unix_socket"), ("SSL_CA", "ssl_ca"), ("SSL_CERT", "ssl_cert"),
                        ("SSL_KEY", "ssl_key")):
        if _env(environ, p + name):
            env_fields[field] = _env(environ, p + name)
    if _env(environ, p + "PORT"):
        env_fields["port"] = _int(_env(environ, p + "PORT"), ENV_PREFIX + p + "PORT")
    if _env(environ, p + "PASSWORD_FILE"):
        env_fields["password"] = _read_password_file(_env(environ, p + "PASSWORD_FILE"))
    if _env(environ, p + "PASSWORD"):
        env_fields["password"] = _env(environ, p + "PASSWORD")
    _layer(merged, env_fields)

    flag_fields: dict[str, Any] = {}
    if "dsn" in flags:
        flag_fields.update(parse_dsn(flags["dsn"]))
    for key in ("host", "user", "database", "ssl_ca", "ssl_cert", "ssl_key"):
        if key in flags:
            flag_fields[key] = flags[key]
    if "socket" in flags:
        flag_fields["unix_socket"] = flags["socket"]
    if "port" in flags:
        flag_fields["port"] = _int(flags["port"], "--port")
    if "password_file" in flags:
        flag_fields["password"] = _read_password_file(flags["password_file"])
    if "password" in flags:  # only from an interactive prompt, never argv
        flag_fields["password"] = flags["password"]
    _layer(merged, flag_fields)
    return ConnectionSettings(**merged)


_LOCATION = ("host", "port", "unix_socket")


def _layer(merged: dict[str, Any], fields: Mapping[str, Any]) -> None:
    """Apply a higher-precedence layer. Where the server is (host, port, socket) is taken
    from one layer as a whole: a socket from the environment must not survive a --dsn
    that names a host, nor an env port a --socket."""
    if any(k in fields for k in ("host", "unix_socket")):
        for k in _LOCATION:
            merged.pop(k, None)
    merged.update(fields)


def _int(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a number, got {value!r}") from None


def state_dir(environ: Mapping[str, str] | None = None) -> pathlib.Path:
    """Where journals and timings live: ``HARBOR_MIGRATE_STATE_DIR`` or XDG state."""
    environ = os.environ if environ is None else environ
    explicit = _env(environ, "STATE_DIR")
    if explicit:
        return pathlib.Path(explicit)
    base = environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return pathlib.Path(base) / "harbor-migrate"


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Read one ``HARBOR_MIGRATE_<name>`` variable (the only door to the environment)."""
    return _env(os.environ if environ is None else environ, name)
