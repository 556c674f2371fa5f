"""Our own declaration of the fresh Harbor 1.6.0 PostgreSQL schema, rendered in two phases.

Written from the facts (harbor-facts §2.9), not copied: the catalog a fresh
``registry-1.6.0.pgsql`` load leaves, plus ``schema_migrations`` as
golang-migrate creates it at Harbor's first start (Harbor 1.6.0 refuses a
database without it). Names are spelled out where PostgreSQL would generate
them (``<table>_pkey``, ``<table>_<column>_key``, ``<table>_<column>_fkey``,
``<table>_<column>_seq``), so that adding a constraint after the load gives the
same catalog as declaring it inline.

Phase ``tables`` (before the load): the trigger function, every table with its
columns, ``serial`` sequences and primary key. Phase ``after_load``: unique
constraints, indexes, foreign keys and the update_time triggers — built once
over the loaded rows instead of maintained row by row, and the triggers only
after the COPY (they fire on UPDATE, so this is about order, not effect).
"""
from __future__ import annotations

import dataclasses

ALEMBIC_VERSION = "1.6.0"
# golang-migrate's version of 0001_initial_schema, which is the 1.6.0 schema; clean.
SCHEMA_MIGRATIONS_ROW = (1, False)

TRIGGER_FUNCTION = "update_update_time_at_column"
# The body is compared by text (pg_proc.prosrc), so it is Harbor's to the character.
_TRIGGER_BODY = "\n  BEGIN\n    NEW.update_time = NOW();\n    RETURN NEW;\n  END;\n"

INT, SMALLINT, BIGINT, BOOL, TEXT, TS = "integer", "smallint", "bigint", "boolean", "text", "timestamp without time zone"


def varchar(n: int) -> str:
    return f"character varying({n})"


def char(n: int) -> str:
    return f"character({n})"


@dataclasses.dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    default: str | None = None
    serial: bool = False          # integer NOT NULL DEFAULT nextval(<table>_<name>_seq), sequence owned by it

    def render(self) -> str:
        if self.serial:
            return f"{self.name} serial NOT NULL"
        return (f"{self.name} {self.type}" + (" NOT NULL" if self.not_null else "")
                + (f" DEFAULT {self.default}" if self.default is not None else ""))


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    uniques: tuple[tuple[str, tuple[str, ...]], ...] = ()                # (constraint name, columns)
    indexes: tuple[tuple[str, tuple[str, ...]], ...] = ()                # (index name, columns)
    foreign_keys: tuple[tuple[str, str, str, str], ...] = ()             # (name, column, table, column)
    trigger: bool = False                                               # update_time BEFORE UPDATE

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def serial_column(self) -> str | None:
        return next((c.name for c in self.columns if c.serial), None)

    @property
    def sequence(self) -> str | None:
        col = self.serial_column
        return f"{self.name}_{col}_seq" if col else None

    @property
    def trigger_name(self) -> str:
        return f"{self.name}_update_time_at_modtime"


def _times() -> tuple[Column, Column]:
    return (Column("creation_time", TS, default="CURRENT_TIMESTAMP"),
            Column("update_time", TS, default="CURRENT_TIMESTAMP"))


def _id(name: str = "id") -> Column:
    return Column(name, INT, serial=True)


def _flag(name: str, default: bool = False) -> Column:
    return Column(name, BOOL, not_null=True, default="true" if default else "false")


def _nn(name: str, type_: str, default: str | None = None) -> Column:
    return Column(name, type_, not_null=True, default=default)


def _col(name: str, type_: str, default: str | None = None) -> Column:
    return Column(name, type_, default=default)


TABLES: tuple[Table, ...] = (
    Table("access", (_id("access_id"), _col("access_code", char(1)), _col("comment", varchar(30))),
          primary_key=("access_id",)),
    Table("role", (_id("role_id"), _nn("role_mask", INT, "0"), _col("role_code", varchar(20)),
                   _col("name", varchar(20))), primary_key=("role_id",)),
    Table("harbor_user", (
        _id("user_id"), _col("username", varchar(255)), _col("email", varchar(255)),
        _nn("password", varchar(40)), _nn("realname", varchar(255)), _col("comment", varchar(30)),
        _flag("deleted"), _col("reset_uuid", varchar(40), "NULL"), _col("salt", varchar(40), "NULL"),
        _flag("sysadmin_flag"), *_times()),
        primary_key=("user_id",),
        uniques=(("harbor_user_username_key", ("username",)), ("harbor_user_email_key", ("email",))),
        trigger=True),
    Table("project", (
        _id("project_id"), _nn("owner_id", INT), _nn("name", varchar(255)), *_times(), _flag("deleted")),
        primary_key=("project_id",), uniques=(("project_name_key", ("name",)),),
        foreign_keys=(("project_owner_id_fkey", "owner_id", "harbor_user", "user_id"),), trigger=True),
    Table("project_member", (
        _id(), _nn("project_id", INT), _nn("entity_id", INT), _nn("entity_type", char(1)), _nn("role", INT),
        *_times()),
        primary_key=("id",),
        uniques=(("unique_project_entity_type", ("project_id", "entity_id", "entity_type")),), trigger=True),
    Table("project_metadata", (
        _id(), _nn("project_id", INT), _nn("name", varchar(255)), _col("value", varchar(255)), *_times(),
        _flag("deleted")),
        primary_key=("id",), uniques=(("unique_project_id_and_name", ("project_id", "name")),),
        foreign_keys=(("project_metadata_project_id_fkey", "project_id", "project", "project_id"),),
        trigger=True),
    Table("user_group", (
        _id(), _nn("group_name", varchar(255)), _col("group_type", SMALLINT, "0"),
        _nn("ldap_group_dn", varchar(512)), *_times()),
        primary_key=("id",), trigger=True),
    Table("access_log", (
        _id("log_id"), _nn("username", varchar(255)), _nn("project_id", INT), _col("repo_name", varchar(256)),
        _col("repo_tag", varchar(128)), _col("guid", varchar(64)), _nn("operation", varchar(20)),
        _col("op_time", TS, "CURRENT_TIMESTAMP")),
        primary_key=("log_id",), indexes=(("pid_optime", ("project_id", "op_time")),)),
    Table("repository", (
        _id("repository_id"), _nn("name", varchar(255)), _nn("project_id", INT), _col("description", TEXT),
        _nn("pull_count", INT, "0"), _nn("star_count", INT, "0"), *_times()),
        primary_key=("repository_id",), uniques=(("repository_name_key", ("name",)),), trigger=True),
    Table("replication_policy", (
        _id(), _col("name", varchar(256)), _nn("project_id", INT), _nn("target_id", INT),
        _flag("enabled", True), _col("description", TEXT), _flag("deleted"), _col("cron_str", varchar(256)),
        _col("filters", varchar(1024)), _flag("replicate_deletion"), _col("start_time", TS), *_times()),
        primary_key=("id",), trigger=True),
    Table("replication_target", (
        _id(), _col("name", varchar(64)), _col("url", varchar(64)), _col("username", varchar(255)),
        _col("password", varchar(128)), _nn("target_type", SMALLINT, "0"), _flag("insecure"), *_times()),
        primary_key=("id",), trigger=True),
    Table("replication_job", (
        _id(), _nn("status", varchar(64)), _nn("policy_id", INT), _nn("repository", varchar(256)),
        _nn("operation", varchar(64)), _col("tags", varchar(16384)), _col("job_uuid", varchar(64)), *_times()),
        primary_key=("id",),
        indexes=(("policy", ("policy_id",)), ("poid_uptime", ("policy_id", "update_time")),
                 ("poid_status", ("policy_id", "status"))),
        trigger=True),
    Table("replication_immediate_trigger", (
        _id(), _nn("policy_id", INT), _nn("namespace", varchar(256)), _flag("on_push"), _flag("on_deletion"),
        *_times()),
        primary_key=("id",), trigger=True),
    Table("img_scan_job", (
        _id(), _nn("status", varchar(64)), _nn("repository", varchar(256)), _nn("tag", varchar(128)),
        _col("digest", varchar(128)), _col("job_uuid", varchar(64)), *_times()),
        primary_key=("id",),
        indexes=(("idx_status", ("status",)), ("idx_digest", ("digest",)), ("idx_uuid", ("job_uuid",)),
                 ("idx_repository_tag", ("repository", "tag"))),
        trigger=True),
    Table("img_scan_overview", (
        _id(), _nn("image_digest", varchar(128)), _nn("scan_job_id", INT), _nn("severity", INT, "0"),
        _col("components_overview", varchar(2048)), _col("details_key", varchar(128)), *_times()),
        primary_key=("id",), uniques=(("img_scan_overview_image_digest_key", ("image_digest",)),), trigger=True),
    Table("clair_vuln_timestamp", (_id(), _nn("namespace", varchar(128)), _nn("last_update", TS)),
          primary_key=("id",), uniques=(("clair_vuln_timestamp_namespace_key", ("namespace",)),)),
    Table("properties", (_id(), _nn("k", varchar(64)), _nn("v", varchar(128))),
          primary_key=("id",), uniques=(("properties_k_key", ("k",)),)),
    Table("harbor_label", (
        _id(), _nn("name", varchar(128)), _col("description", TEXT), _col("color", varchar(16)),
        _nn("level", char(1)), _nn("scope", char(1)), _col("project_id", INT), *_times(), _flag("deleted")),
        primary_key=("id",), uniques=(("unique_label", ("name", "scope", "project_id")),), trigger=True),
    Table("harbor_resource_label", (
        _id(), _nn("label_id", INT), _col("resource_id", INT), _col("resource_name", varchar(256)),
        _nn("resource_type", char(1)), *_times()),
        primary_key=("id",),
        uniques=(("unique_label_resource", ("label_id", "resource_id", "resource_name", "resource_type")),),
        trigger=True),
    Table("admin_job", (
        _id(), _nn("job_name", varchar(64)), _nn("job_kind", varchar(64)), _col("cron_str", varchar(256)),
        _nn("status", varchar(64)), _col("job_uuid", varchar(64)), *_times(), _flag("deleted")),
        primary_key=("id",), indexes=(("admin_job_status", ("status",)), ("admin_job_uuid", ("job_uuid",))),
        trigger=True),
    Table("alembic_version", (_nn("version_num", varchar(32)),)),
    # golang-migrate's own table (created by Harbor 1.6.0's adminserver at its first start).
    Table("schema_migrations", (_nn("version", BIGINT), _nn("dirty", BOOL)), primary_key=("version",)),
)

BY_NAME = {t.name: t for t in TABLES}


def _cols(cols: tuple[str, ...]) -> str:
    return ", ".join(cols)


def render_function() -> str:
    return (f"CREATE FUNCTION {TRIGGER_FUNCTION}() RETURNS trigger\n    LANGUAGE plpgsql\n"
            f"    AS $$" + _TRIGGER_BODY + "$$")


def render_create_table(table: Table) -> str:
    parts = [c.render() for c in table.columns]
    if table.primary_key:
        parts.append(f"CONSTRAINT {table.name}_pkey PRIMARY KEY ({_cols(table.primary_key)})")
    return f"CREATE TABLE {table.name} (\n    " + ",\n    ".join(parts) + "\n)"


def _uniques(t: Table) -> list[str]:
    return [f"ALTER TABLE {t.name} ADD CONSTRAINT {name} UNIQUE ({_cols(cols)})" for name, cols in t.uniques]


def _indexes(t: Table) -> list[str]:
    return [f"CREATE INDEX {name} ON {t.name} ({_cols(cols)})" for name, cols in t.indexes]


def _foreign_keys(t: Table) -> list[str]:
    return [f"ALTER TABLE {t.name} ADD CONSTRAINT {name} FOREIGN KEY ({col}) REFERENCES {ref}({ref_col})"
            for name, col, ref, ref_col in t.foreign_keys]


def _triggers(t: Table) -> list[str]:
    return [f"CREATE TRIGGER {t.trigger_name} BEFORE UPDATE ON {t.name} FOR EACH ROW "
            f"EXECUTE PROCEDURE {TRIGGER_FUNCTION}()"] if t.trigger else []


def phase_tables() -> list[str]:
    """Before the load: the trigger function and every table (columns, sequences, primary key)."""
    return [render_function()] + [render_create_table(t) for t in TABLES]


def phase_after_load() -> list[str]:
    """After the load: unique constraints and indexes, then foreign keys, then triggers.

    Foreign keys come after every unique constraint, so a referenced key always
    exists whatever the table order.
    """
    return [s for kind in (_uniques, _indexes, _foreign_keys, _triggers) for t in TABLES for s in kind(t)]


def render_all() -> str:
    """The whole fresh schema as one script (both phases), for review and for tests."""
    return ";\n\n".join(phase_tables() + phase_after_load()) + ";\n"
