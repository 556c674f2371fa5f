"""The keys a 1.6.0 conversion decides differently from a 1.5.2 one (``convert.convert(to="1.6.0")``).

1.6.0's ``db_*`` keys name the PostgreSQL database Harbor's data was moved to
(``upgrade --to 1.6.0 --target-dsn``), so they come from ``--target-dsn``, never
from the MySQL connection; ``db_password`` from the DSN or
``--target-password-file``. A 1.5.x ``redis_url`` (``address:port[,weight,password,db_index]``)
gives ``redis_host``, ``redis_port`` and ``redis_password``; ``redis_db_index``
keeps 1.6.0's three indexes, which 1.5's single index does not map to.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from . import template as T
from .report import ConvertReport

if TYPE_CHECKING:
    from ..postgres.settings import PgSettings

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def db_key(slot: T.Slot, old: str | None, target: "PgSettings | None", values: dict[str, str],
           report: ConvertReport) -> None:
    key = slot.key
    assert key
    if target is None:
        value, note = slot.default, "no --target-dsn given: default of Harbor 1.6.0's bundled PostgreSQL"
        if key == "db_host":
            report.warnings.append(
                "no --target-dsn given: db_host/db_port/db_user are the defaults for Harbor 1.6.0's bundled "
                "PostgreSQL (postgresql:5432, postgres). For the database `upgrade --to 1.6.0` moved Harbor "
                "into, pass --target-dsn postgresql://user@host:port/registry or edit them")
    elif target.unix_socket_dir and key in ("db_host", "db_port"):
        value, note = slot.default, "the target is a unix socket: set it by hand"
        if key == "db_host":
            report.warnings.append(
                "the --target-dsn uses a unix socket, which Harbor's containers cannot use: set db_host and "
                "db_port to the address the containers reach PostgreSQL at")
    else:
        value = {"db_host": target.host, "db_port": str(target.port), "db_user": target.user}[key]
        note = f"from --target-dsn {target.describe()}"
        if key == "db_host" and value.lower() in _LOCAL_HOSTS:
            report.warnings.append(
                f"db_host = {value}: inside Harbor's containers that is the container itself; set db_host to "
                "an address the containers can reach PostgreSQL at")
        if key == "db_host" and target.database != "registry":
            report.warnings.append(
                f"the PostgreSQL database is named {target.database!r}, but Harbor 1.6.0's adminserver env "
                "template sets POSTGRESQL_DATABASE=registry: change it in common/templates/adminserver/env "
                "before running prepare")
    values[key] = value
    if old is None:
        report.add(key, "added", None, value, note)
    else:
        report.add(key, "kept" if old == value else "changed", old, value,
                   note + ("" if old == value else "; the 1.5.x value described MySQL"))


def db_password(old: str, target: "PgSettings | None", values: dict[str, str], report: ConvertReport) -> None:
    if target is not None and target.password is not None:
        values["db_password"] = target.password
        same = target.password == old
        report.add("db_password", "kept" if same else "changed", old, target.password,
                   f"from --target-dsn / --target-password-file ({target.describe()})"
                   + (" (same as in the old file)" if same else ""))
        return
    values["db_password"] = old
    report.add("db_password", "kept", old, old,
               "left as in the old file, where it was a MySQL password; in 1.6.0 it is the PostgreSQL password "
               "of db_user")
    report.warnings.append(
        "db_password is the old file's (a MySQL password): give the PostgreSQL password with --target-dsn or "
        "--target-password-file, or edit it")


def redis_url_parts(redis_url: str | None) -> dict[str, str]:
    """``address:port[,weight,password,db_index]`` → redis_host/port/password (only those set)."""
    if not redis_url:
        return {}
    fields = redis_url.split(",")
    host, _, port = fields[0].strip().rpartition(":")
    parts = {"redis_host": host, "redis_port": port} if host and port.isdigit() else {}
    if len(fields) > 2 and fields[2].strip():
        parts["redis_password"] = fields[2].strip()
    return parts


def redis_key(slot: T.Slot, old: str | None, redis_url: str | None, values: dict[str, str],
              report: ConvertReport) -> None:
    key = slot.key
    assert key
    from_url = redis_url_parts(redis_url).get(key)
    if old is not None:
        values[key] = old
        report.add(key, "kept", old, old)
    elif from_url is not None:
        values[key] = from_url
        report.add(key, "added", None, from_url, "from the 1.5.x redis_url")
    else:
        values[key] = slot.default
        report.add(key, "added", None, slot.default, f"new in {slot.since}, 1.6.0 default")


def mask_redis_url(redis_url: str) -> str:
    """``redis_url`` with its password field (the third) as ``***``: it goes into the report."""
    fields = redis_url.split(",")
    if len(fields) > 2 and fields[2].strip():
        fields[2] = "***"
    return ",".join(fields)
