"""Read a PostgreSQL schema (one namespace, ``public`` by default) into plain dataclasses.

Everything comes from the catalogs in the server's own words (``format_type``,
``pg_get_expr``, ``pg_get_constraintdef``, ``pg_get_indexdef``,
``pg_get_triggerdef``), so two schemas compare equal exactly when the server
would print them the same way, whatever SQL spelling created them.
"""
from __future__ import annotations

import dataclasses

from .connection import PgDatabase


@dataclasses.dataclass(frozen=True)
class PgColumn:
    name: str
    type: str                 # format_type: "integer", "character varying(255)", …
    nullable: bool
    default: str | None       # pg_get_expr: "nextval('access_access_id_seq'::regclass)", "false", …
    identity: str = ""        # "", "always" or "by default"


@dataclasses.dataclass(frozen=True)
class PgConstraint:
    name: str
    kind: str                 # "primary", "unique", "foreign", "check", "exclusion"
    definition: str           # pg_get_constraintdef: "UNIQUE (name, scope, project_id)"


@dataclasses.dataclass(frozen=True)
class PgIndex:
    name: str
    definition: str           # pg_get_indexdef, with the name and schema as the server prints them
    constraint: str | None    # the constraint it implements (primary key / unique), if any

    @property
    def shape(self) -> str:
        """The definition without the index's own name: what two differently named indexes share."""
        return self.definition.replace(f" INDEX {self.name} ON ", " INDEX ON ", 1) \
            .replace(f' INDEX "{self.name}" ON ', " INDEX ON ", 1)


@dataclasses.dataclass(frozen=True)
class PgTrigger:
    name: str
    table: str
    function: str
    timing: str               # "BEFORE", "AFTER", "INSTEAD OF"
    events: tuple[str, ...]   # ("UPDATE",), ("INSERT", "DELETE"), …
    level: str                # "ROW" or "STATEMENT"
    definition: str           # pg_get_triggerdef

    @property
    def shape(self) -> str:
        return f"{self.timing} {' OR '.join(self.events)} FOR EACH {self.level} EXECUTE {self.function}()"


@dataclasses.dataclass(frozen=True)
class PgSequence:
    name: str
    data_type: str            # "integer" (SERIAL), "bigint" (BIGSERIAL or a bare CREATE SEQUENCE)
    start: int
    increment: int
    owned_by: str | None      # "table.column" (SERIAL / OWNED BY), None when free-standing


@dataclasses.dataclass(frozen=True)
class PgFunction:
    name: str
    arguments: str            # pg_get_function_identity_arguments
    result: str               # pg_get_function_result: "trigger", …
    language: str
    body: str                 # prosrc, whitespace as written

    @property
    def signature(self) -> str:
        return f"{self.name}({self.arguments})"


@dataclasses.dataclass
class PgTable:
    name: str
    columns: list[PgColumn] = dataclasses.field(default_factory=list)
    constraints: dict[str, PgConstraint] = dataclasses.field(default_factory=dict)
    indexes: dict[str, PgIndex] = dataclasses.field(default_factory=dict)
    triggers: dict[str, PgTrigger] = dataclasses.field(default_factory=dict)

    def column(self, name: str) -> PgColumn | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclasses.dataclass
class PgSchema:
    tables: dict[str, PgTable] = dataclasses.field(default_factory=dict)
    sequences: dict[str, PgSequence] = dataclasses.field(default_factory=dict)
    functions: dict[str, PgFunction] = dataclasses.field(default_factory=dict)  # by signature


_KINDS = {"p": "primary", "u": "unique", "f": "foreign", "c": "check", "x": "exclusion"}
_IDENTITY = {"": "", "a": "always", "d": "by default"}


def read_schema(db: PgDatabase, schema: str = "public") -> PgSchema:
    """Tables (columns in order), constraints, indexes, triggers, sequences and the
    trigger functions of one namespace. Only the functions that triggers call are read:
    those are the ones a Harbor schema defines."""
    out = PgSchema()
    for (table,) in db.query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname", (schema,)):
        out.tables[table] = PgTable(table)

    for table, name, typ, notnull, default, identity in db.query(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, "
            "pg_get_expr(d.adbin, d.adrelid), a.attidentity::text "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY c.relname, a.attnum", (schema,)):
        out.tables[table].columns.append(PgColumn(name, typ, not notnull, default, _IDENTITY.get(identity, identity)))

    for table, name, kind, definition in db.query(
            "SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid, true) "
            "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname, k.conname", (schema,)):
        out.tables[table].constraints[name] = PgConstraint(name, _KINDS.get(kind, kind), definition)

    for table, name, definition, constraint in db.query(
            "SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid), k.conname "
            "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "JOIN pg_namespace n ON n.oid = t.relnamespace "
            "LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid "
            "AND k.contype IN ('p', 'u', 'x') "
            "WHERE n.nspname = %s ORDER BY t.relname, i.relname", (schema,)):
        if table in out.tables:
            out.tables[table].indexes[name] = PgIndex(name, definition, constraint)

    for table, name, function, tgtype, definition in db.query(
            "SELECT c.relname, t.tgname, p.proname, t.tgtype, pg_get_triggerdef(t.oid, true) "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY c.relname, t.tgname", (schema,)):
        timing, events, level = _decode_tgtype(int(tgtype))
        out.tables[table].triggers[name] = PgTrigger(name, table, function, timing, events, level, definition)

    for name, typ, start, increment, owner_table, owner_column in db.query(
            "SELECT s.relname, format_type(q.seqtypid, NULL), q.seqstart, q.seqincrement, t.relname, a.attname "
            "FROM pg_sequence q JOIN pg_class s ON s.oid = q.seqrelid "
            "JOIN pg_namespace n ON n.oid = s.relnamespace "
            "LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid "
            "AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') "
            "LEFT JOIN pg_class t ON t.oid = d.refobjid "
            "LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
            "WHERE n.nspname = %s ORDER BY s.relname", (schema,)):
        owned = f"{owner_table}.{owner_column}" if owner_table and owner_column else None
        out.sequences[name] = PgSequence(name, typ, int(start), int(increment), owned)

    for name, arguments, result, language, body in db.query(
            "SELECT DISTINCT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_function_result(p.oid), "
            "l.lanname, p.prosrc FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid "
            "JOIN pg_language l ON l.oid = p.prolang "
            "WHERE n.nspname = %s AND NOT t.tgisinternal ORDER BY 1, 2", (schema,)):
        function = PgFunction(name, arguments, result, language, body)
        out.functions[function.signature] = function
    return out


def _decode_tgtype(tgtype: int) -> tuple[str, tuple[str, ...], str]:
    """pg_trigger.tgtype bits (src/include/catalog/pg_trigger.h): ROW 1, BEFORE 2,
    INSERT 4, DELETE 8, UPDATE 16, TRUNCATE 32, INSTEAD 64."""
    level = "ROW" if tgtype & 1 else "STATEMENT"
    timing = "INSTEAD OF" if tgtype & 64 else "BEFORE" if tgtype & 2 else "AFTER"
    events = tuple(e for bit, e in ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if tgtype & bit)
    return timing, events, level
