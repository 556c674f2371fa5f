"""Connection options shared by every command, and how they become settings.

There is deliberately no ``--password`` flag: a password on argv lands in shell
history and ``ps``. It comes from the DSN, ``HARBOR_MIGRATE_PASSWORD``,
``--password-file`` or ``--ask-password`` (a prompt).
"""
from __future__ import annotations

import functools
from typing import Any, Callable

import click

from ..errors import UsageError
from ..settings import ConnectionSettings, env_value, resolve_connection

_CONNECTION_PARAMS = ("dsn", "host", "port", "user", "database", "socket", "password_file", "ssl_ca", "ssl_cert",
                      "ssl_key", "ask_password", "config")


def connection_options(fn: Callable | None = None, *, optional: bool = False) -> Callable:
    """Add the connection flags; the command receives ``settings: ConnectionSettings``.

    With ``optional`` (commands that only *may* use a database, like ``cfg
    convert``), ``settings`` is None unless a flag or HARBOR_MIGRATE_* names one.
    """
    if fn is None:
        return lambda f: connection_options(f, optional=optional)
    opts = [
        click.option("--dsn", help="mysql://user[:password]@host:port/database[?unix_socket=…&ssl_ca=…] "
                                   "(env HARBOR_MIGRATE_DSN); the password is masked in all output."),
        click.option("--host", help="Server host (env HARBOR_MIGRATE_HOST)."),
        click.option("--port", type=int, help="Server port (env HARBOR_MIGRATE_PORT)."),
        click.option("--user", help="Account name (env HARBOR_MIGRATE_USER)."),
        click.option("--database", help="Harbor's database, usually 'registry' (env HARBOR_MIGRATE_DATABASE)."),
        click.option("--socket", help="Unix socket path instead of host:port (env HARBOR_MIGRATE_SOCKET)."),
        click.option("--password-file", type=click.Path(dir_okay=False),
                     help="Read the password from this file (env HARBOR_MIGRATE_PASSWORD_FILE)."),
        click.option("--ask-password", is_flag=True, help="Prompt for the password."),
        click.option("--ssl-ca", help="CA certificate for TLS (env HARBOR_MIGRATE_SSL_CA)."),
        click.option("--ssl-cert", help="Client certificate for TLS (env HARBOR_MIGRATE_SSL_CERT)."),
        click.option("--ssl-key", help="Client key for TLS (env HARBOR_MIGRATE_SSL_KEY)."),
        click.option("--config", type=click.Path(dir_okay=False),
                     help="INI file with a [connection] section (env HARBOR_MIGRATE_CONFIG)."),
    ]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {k: kwargs.pop(k, None) for k in _CONNECTION_PARAMS}
        if "target_dsn" in kwargs:  # restore: the target is the connection
            # --target-dsn > --dsn > HARBOR_MIGRATE_TARGET_DSN > the usual HARBOR_MIGRATE_* / config
            flags["dsn"] = _restore_target(kwargs.pop("target_dsn"), flags["dsn"])
        kwargs["settings"] = settings_from_flags(flags, optional=optional)
        return fn(*args, **kwargs)

    for opt in reversed(opts):
        wrapper = opt(wrapper)
    return wrapper


def _is_postgres_dsn(dsn: str) -> bool:
    return dsn.split("://", 1)[0].split("+", 1)[0].lower() in ("postgresql", "postgres")


def _restore_target(target_dsn: str | None, dsn: str | None) -> str | None:
    """restore's MySQL target. HARBOR_MIGRATE_TARGET_DSN also names the 1.6.0 PostgreSQL target;
    the scheme tells whose it is, and restore refuses a postgresql:// one rather than fall back
    to the connection options (which usually name the source)."""
    if target_dsn and _is_postgres_dsn(target_dsn):
        raise UsageError("restore writes into MySQL: --target-dsn postgresql://… is the Harbor 1.6.0 target "
                         "(upgrade --to 1.6.0), not a database to restore into")
    env = None if target_dsn or dsn else env_value("TARGET_DSN")
    if env and _is_postgres_dsn(env):
        raise UsageError("restore writes into MySQL, and HARBOR_MIGRATE_TARGET_DSN holds a postgresql:// DSN (the "
                         "1.6.0 target): name restore's target with --target-dsn mysql://… or --dsn, or unset it")
    return target_dsn or dsn or env


def settings_from_flags(flags: dict[str, Any], optional: bool = False) -> ConnectionSettings | None:
    ask = flags.pop("ask_password", False)
    config = flags.pop("config", None)
    named = any(v not in (None, "") for v in flags.values()) or ask or config or any(
        env_value(n) for n in ("DSN", "HOST", "SOCKET", "CONFIG"))
    if optional and not named:
        return None
    if ask:
        flags["password"] = click.prompt("Password", hide_input=True, err=True)
    return resolve_connection(flags, config_file=config)


def json_option(fn: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")(fn)
