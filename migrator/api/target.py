"""The PostgreSQL target of ``--to 1.6.0``, resolved from flags and environment; nothing connects here.

Apart from the move's verbs because every ``upgrade`` resolves ``--target-dsn``, also a
MySQL-only one inside the downtime window, which must not load the move and its driver.
"""
from __future__ import annotations

import dataclasses

from ..chain.revisions import PG_TARGET
from ..errors import UsageError
from ..postgres.settings import PgSettings
from ..settings import env_value


def is_mysql_dsn(dsn: str) -> bool:
    """HARBOR_MIGRATE_TARGET_DSN serves two commands, told apart by the scheme (docs/decisions.md):
    a mysql:// (mariadb://) value is restore's MySQL target, a postgresql:// one the 1.6.0 target."""
    return dsn.split("://", 1)[0].split("+", 1)[0].lower() in ("mysql", "mariadb")


def target_settings(dsn: str | None, password_file: str | None = None) -> PgSettings | None:
    """The PostgreSQL target: ``--target-dsn`` > HARBOR_MIGRATE_TARGET_DSN; the password from the DSN,
    ``--target-password-file`` > HARBOR_MIGRATE_TARGET_PASSWORD_FILE, or libpq's own (~/.pgpass).

    A mysql:// value in the variable is restore's, not ours: None here, and ``require_target``
    says so when a command needs the PostgreSQL target."""
    if dsn and is_mysql_dsn(dsn):
        raise UsageError(f"unsupported DSN scheme mysql:// for --target-dsn: it is the PostgreSQL database of Harbor "
                         f"{PG_TARGET.id} (postgresql://…); a mysql:// DSN is restore's target")
    dsn = dsn or env_value("TARGET_DSN")
    if not dsn or is_mysql_dsn(dsn):
        return None
    settings = PgSettings.from_dsn(dsn)
    path = password_file or env_value("TARGET_PASSWORD_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                settings = dataclasses.replace(settings, password=fh.read().rstrip("\r\n"))
        except OSError as exc:
            raise UsageError(f"cannot read the target password file {path}: {exc.strerror}") from None
    return settings


def require_target(target: PgSettings | None) -> PgSettings:
    env = env_value("TARGET_DSN")
    if target is None and env and is_mysql_dsn(env):
        raise UsageError(f"--to {PG_TARGET.id} needs the PostgreSQL target, and HARBOR_MIGRATE_TARGET_DSN holds a "
                         "mysql:// DSN (restore's target): pass --target-dsn postgresql://… or set the variable to one")
    if target is None:
        raise UsageError(f"--to {PG_TARGET.id} needs the PostgreSQL target: --target-dsn "
                         "postgresql://user@host:port/database (or HARBOR_MIGRATE_TARGET_DSN)")
    return target
