"""alembic environment: online runs against ``-x dsn=…``; offline (--sql) is refused.

Offline SQL needs the live catalog (real constraint names) — use
``harbor-migrate plan --sql`` for a reviewable script instead.
"""
from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run_migrations_online() -> None:
    dsn = context.get_x_argument(as_dictionary=True).get("dsn") or config.get_main_option("sqlalchemy.url")
    if not dsn:
        raise SystemExit("pass the database with: alembic -x dsn=mysql+pymysql://user:pass@host:port/registry …")
    if dsn.startswith("mysql://"):
        dsn = "mysql+pymysql://" + dsn[len("mysql://"):]
    engine = create_engine(dsn, poolclass=pool.NullPool, connect_args={"charset": "utf8mb4"})
    with engine.connect() as connection:
        # Each revision commits as it goes (MySQL DDL is not transactional anyway).
        context.configure(connection=connection, transaction_per_migration=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline mode is not supported: use `harbor-migrate plan --sql`, which reads the live catalog")
run_migrations_online()
