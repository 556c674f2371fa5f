"""cfg: harbor.cfg 0.5.0 -> 1.5.2 (or 0.5.0/1.5.x -> 1.6.0), the 0.5.0 secret key against the database,
verify_remote_cert applied."""
from __future__ import annotations

import os

from ..cfg.convert import convert
from ..cfg.report import ConversionRefused, ConvertReport  # noqa: F401  (raised with the report, for --json)
from ..cfg.secretkey import check_key, read_key
from ..cfg.targets import apply_insecure_from_cfg
from ..mysql.connection import connect
from ..postgres.settings import PgSettings
from ..settings import ConnectionSettings
from ..verdicts import Check


def cfg_convert(old_text: str, *, db: ConnectionSettings | None, include_db_password: bool = False,
                secretkey_dir: str | None = None, source: str = "harbor.cfg", to: str = "1.5.2",
                target: PgSettings | None = None) -> tuple[str, ConvertReport]:
    """The ``to`` (1.5.2, 1.6.0) harbor.cfg text for ``old_text`` and the report; the database keys from
    ``db`` (1.5.2) or from ``target``, the PostgreSQL database (1.6.0)."""
    return convert(old_text, db=db, include_db_password=include_db_password, secretkey_dir=secretkey_dir,
                   source=source, to=to, target=target)


def cfg_read_key(keyfile: str | os.PathLike) -> bytes:
    """The key file's bytes; KeyInvalid when it is unusable (before any connection is made)."""
    return read_key(keyfile)


def cfg_check_key(settings: ConnectionSettings, keyfile: str | os.PathLike) -> list[Check]:
    """Whether every replication target password in the database decrypts with ``keyfile``."""
    with connect(settings) as db:
        return check_key(db, keyfile)


def cfg_apply_insecure(settings: ConnectionSettings, old_text: str, *, dry_run: bool = False,
                       source: str = "harbor.cfg") -> Check:
    """insecure = 1 on every replication target when the 0.5.0 file says verify_remote_cert = off."""
    with connect(settings) as db:
        return apply_insecure_from_cfg(db, old_text, dry_run=dry_run, source=source)
