"""Schema introspection and comparison on a real PostgreSQL, with Harbor 1.6.0's own schema files.

Each alteration of a fresh 1.6.0 schema must come out as exactly the line naming it;
two loads of the same file must compare equal.
"""
from __future__ import annotations

import pytest

from migrator.postgres.compare import compare_schemas
from migrator.postgres.introspect import _decode_tgtype, read_schema
from tests.postgres.conftest import PgDatabases


@pytest.fixture(scope="session")
def fresh(local_pg, schema_160):
    """The expected schema: a fresh 1.6.0 load, read once (the dataclasses are not altered)."""
    dbs = PgDatabases(local_pg)
    try:
        with dbs.connect(dbs.load(schema_160, "expected")) as db:
            return read_schema(db)
    finally:
        dbs.cleanup()


def _altered(pg_dbs, schema_160, *statements: str):
    name = pg_dbs.load(schema_160, "actual")
    with pg_dbs.connect(name) as db:
        for statement in statements:
            db.execute(statement)
        return read_schema(db)


def test_two_loads_of_the_fresh_schema_are_identical(fresh, pg_dbs, schema_160):
    assert compare_schemas(fresh, _altered(pg_dbs, schema_160)) == []


def test_the_fresh_schema_reads_as_harbor_wrote_it(fresh):
    user = fresh.tables["harbor_user"]
    assert user.column_names[:3] == ["user_id", "username", "email"]
    assert user.column("user_id").default == "nextval('harbor_user_user_id_seq'::regclass)"
    assert user.column("deleted").type == "boolean" and not user.column("deleted").nullable
    assert user.column("username").nullable
    assert fresh.tables["project"].constraints["project_owner_id_fkey"].definition == \
        "FOREIGN KEY (owner_id) REFERENCES harbor_user(user_id)"
    assert fresh.tables["harbor_label"].constraints["unique_label"].kind == "unique"
    assert fresh.sequences["access_access_id_seq"].owned_by == "access.access_id"
    assert fresh.sequences["access_access_id_seq"].data_type == "integer"
    trigger = fresh.tables["project"].triggers["project_update_time_at_modtime"]
    assert (trigger.timing, trigger.events, trigger.level, trigger.function) == \
        ("BEFORE", ("UPDATE",), "ROW", "update_update_time_at_column")
    assert "update_update_time_at_column()" in fresh.functions
    assert fresh.tables["admin_job"].indexes["admin_job_status"].constraint is None
    assert fresh.tables["access_log"].indexes["access_log_pkey"].constraint == "access_log_pkey"


@pytest.mark.parametrize("statements, expected", [
    (["DROP INDEX pid_optime"],
     ["table access_log: index pid_optime missing (CREATE INDEX ON public.access_log USING btree "
      "(project_id, op_time))"]),
    (["DROP TABLE properties",
      "CREATE TABLE properties (id SERIAL NOT NULL, v varchar(128) NOT NULL, k varchar(64) NOT NULL, "
      "PRIMARY KEY (id), UNIQUE (k))"],
     ["table properties: column order (id, v, k), expected (id, k, v)"]),
    (["ALTER TABLE harbor_label RENAME CONSTRAINT unique_label TO unique_name_and_scope"],
     ["table harbor_label: constraint UNIQUE (name, scope, project_id) named unique_name_and_scope, "
      "expected unique_label"]),
    (["DROP TRIGGER project_update_time_at_modtime ON project"],
     ["table project: trigger project_update_time_at_modtime missing "
      "(BEFORE UPDATE FOR EACH ROW EXECUTE update_update_time_at_column())"]),
    (["ALTER INDEX admin_job_uuid RENAME TO uuid"],
     ["table admin_job: index CREATE INDEX ON public.admin_job USING btree (job_uuid) named uuid, "
      "expected admin_job_uuid"]),
    (["ALTER TABLE project DROP CONSTRAINT project_owner_id_fkey",
      "ALTER TABLE project ADD CONSTRAINT project_ibfk_1 FOREIGN KEY (owner_id) REFERENCES harbor_user(user_id)"],
     ["table project: constraint FOREIGN KEY (owner_id) REFERENCES harbor_user(user_id) named project_ibfk_1, "
      "expected project_owner_id_fkey"]),
    (["ALTER TABLE project ALTER deleted DROP DEFAULT",
      "ALTER TABLE project ALTER deleted TYPE smallint USING deleted::int",
      "ALTER TABLE project ALTER deleted SET DEFAULT 0"],
     ["table project: column deleted type smallint, expected boolean",
      "table project: column deleted default 0, expected false"]),
    (["ALTER TABLE harbor_user ALTER username SET NOT NULL"],
     ["table harbor_user: column username NOT NULL, expected nullable"]),
    (["ALTER TABLE access ALTER access_id DROP DEFAULT", "DROP SEQUENCE access_access_id_seq"],
     ["table access: column access_id default none, expected nextval('access_access_id_seq'::regclass)",
      "sequence access_access_id_seq: missing (integer, owned by access.access_id)"]),
    (["ALTER SEQUENCE role_role_id_seq OWNED BY NONE", "ALTER SEQUENCE role_role_id_seq AS bigint"],
     ["sequence role_role_id_seq: type bigint, expected integer",
      "sequence role_role_id_seq: owned by no column, expected role.role_id"]),
    (["ALTER TABLE harbor_label DROP COLUMN deleted", "CREATE TABLE job_log (log_id SERIAL PRIMARY KEY)"],
     ["table job_log: not in the expected schema",
      "table harbor_label: column deleted missing",
      "sequence job_log_log_id_seq: not in the expected schema (integer, owned by job_log.log_id)"]),
    (["CREATE OR REPLACE FUNCTION update_update_time_at_column() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN NEW.update_time = clock_timestamp(); RETURN NEW; END; $$"],
     ["function update_update_time_at_column(): body differs"]),
], ids=["index-dropped", "column-order", "constraint-renamed", "trigger-dropped", "index-renamed",
        "foreign-key-renamed", "type-and-default", "nullability", "sequence-dropped", "sequence-free-standing",
        "table-and-column", "function-body"])
def test_each_alteration_is_named(fresh, pg_dbs, schema_160, statements, expected):
    assert compare_schemas(fresh, _altered(pg_dbs, schema_160, *statements)) == expected


def test_the_migrator_tables_differ_from_the_fresh_schema_as_documented(fresh, pg_dbs, schema_160_migrator):
    """docs/decisions-1.6.0.md lists these; the count keeps the list honest."""
    with pg_dbs.connect(pg_dbs.load(schema_160_migrator, "migrator")) as db:
        lines = compare_schemas(fresh, read_schema(db))
    for line in ("table admin_job: missing",
                 "table harbor_label: column deleted missing",
                 "table harbor_label: constraint UNIQUE (name, scope, project_id) named unique_name_and_scope, "
                 "expected unique_label",
                 "table project: constraint project_owner_id_fkey missing "
                 "(FOREIGN KEY (owner_id) REFERENCES harbor_user(user_id))",
                 "table project_metadata: constraint project_metadata_project_id_fkey missing "
                 "(FOREIGN KEY (project_id) REFERENCES project(project_id))",
                 "table replication_policy: column enabled type smallint, expected boolean",
                 "table replication_policy: column enabled default 1, expected true",
                 "sequence access_access_id_seq: missing (integer, owned by access.access_id)"):
        assert line in lines
    assert sum(ln.startswith("sequence ") for ln in lines) == 20
    assert sum(" default none, expected nextval(" in ln for ln in lines) == 19  # admin_job is missing whole
    assert sum(" type smallint, expected boolean" in ln for ln in lines) == 10
    assert len(lines) == 64


def test_trigger_type_bits():
    assert _decode_tgtype(1 | 2 | 16) == ("BEFORE", ("UPDATE",), "ROW")
    assert _decode_tgtype(4 | 8) == ("AFTER", ("INSERT", "DELETE"), "STATEMENT")
    assert _decode_tgtype(1 | 64 | 4) == ("INSTEAD OF", ("INSERT",), "ROW")
