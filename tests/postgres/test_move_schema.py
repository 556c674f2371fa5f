"""Our declaration of the fresh 1.6.0 schema (migrator/move/target_schema.py) against Harbor's own file.

Harbor 1.6.0's ``registry-1.6.0.pgsql`` is loaded into one database, and completed
with what Harbor 1.6.0 adds at its first start (golang-migrate's ``schema_migrations``);
our two phases are rendered into another database on the same cluster; the two
schemas must compare equal, column order and every name included.
"""
from __future__ import annotations

from migrator.move import target_schema
from migrator.postgres.compare import compare_schemas
from migrator.postgres.introspect import read_schema

# golang-migrate's postgres driver creates its table so (Harbor 1.6.0's first start, harbor-facts §2.9).
GOLANG_MIGRATE_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations "
                        "(version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")


def fresh_160_schema(pg_dbs, schema_160):
    """The schema a fresh Harbor 1.6.0 has once it has started: the file's load plus schema_migrations."""
    name = pg_dbs.load(schema_160, "fresh")
    with pg_dbs.connect(name) as db:
        db.execute(GOLANG_MIGRATE_TABLE)
        return read_schema(db)


def test_our_two_phases_create_exactly_the_fresh_160_schema(pg_dbs, schema_160):
    expected = fresh_160_schema(pg_dbs, schema_160)
    ours = pg_dbs.create("ours")
    with pg_dbs.connect(ours) as db:
        for statement in target_schema.phase_tables():
            db.execute(statement)
        for statement in target_schema.phase_after_load():
            db.execute(statement)
        actual = read_schema(db)
    assert compare_schemas(expected, actual) == []
    assert list(actual.tables) and set(actual.tables) == {t.name for t in target_schema.TABLES}


def test_before_the_load_only_primary_keys_exist(pg_dbs, schema_160):
    ours = pg_dbs.create("phase1")
    with pg_dbs.connect(ours) as db:
        for statement in target_schema.phase_tables():
            db.execute(statement)
        actual = read_schema(db)
    kinds = {c.kind for t in actual.tables.values() for c in t.constraints.values()}
    assert kinds == {"primary"}
    assert not any(t.triggers for t in actual.tables.values())
