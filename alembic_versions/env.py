"""alembic environment: online runs against ``-x dsn=…``; offline (--sql) is refused.

The revisions run through harbor-migrate's own loop (migrator/chain/alembic_entry.py):
the same probes, run lock, statement watch and journal as ``harbor-migrate upgrade``.
Offline SQL needs the live catalog (real constraint names) — use
``harbor-migrate plan --sql`` for a reviewable script instead.
"""
import contextlib

from alembic import context
from sqlalchemy import create_engine, pool

from migrator.chain.alembic_entry import run_from_alembic_cli
from migrator.settings import resolve_connection

config = context.config


def run_migrations_online() -> None:
    dsn = context.get_x_argument(as_dictionary=True).get("dsn") or config.get_main_option("sqlalchemy.url")
    if not dsn:
        raise SystemExit("pass the database with: alembic -x dsn=mysql+pymysql://user:pass@host:port/registry …")
    if dsn.startswith("mysql://"):
        dsn = "mysql+pymysql://" + dsn[len("mysql://"):]
    settings = resolve_connection({"dsn": dsn}, environ={})
    engine = create_engine(dsn, poolclass=pool.NullPool, connect_args={"charset": "utf8mb4"})
    connection = engine.connect()
    try:
        run_from_alembic_cli(connection, settings, context)
    finally:
        with contextlib.suppress(Exception):  # a lost connection cannot roll back: keep the error that got us here
            connection.close()


if context.is_offline_mode():
    raise SystemExit("offline mode is not supported: use `harbor-migrate plan --sql`, which reads the live catalog")
run_migrations_online()
