"""Schemas as data: what a table is declared as, and what a server makes of it.

A Harbor ``registry.sql`` declares bare ``timestamp`` columns; what they become
depends on the server's ``explicit_defaults_for_timestamp`` (MySQL 5.6 and
MariaDB < 10.10 default OFF: NOT NULL, the first one auto-initialising and
auto-updating, later ones defaulting to the zero date; ON: nullable, no
default). So a model is kept as *declared*, and ``resolve`` applies the
server's rules to give the concrete definition that information_schema will
show. DDL we execute always states the resolved definition in full.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable

CURRENT_TIMESTAMP = "CURRENT_TIMESTAMP"
ZERO_DATE = "0000-00-00 00:00:00"


@dataclasses.dataclass(frozen=True)
class ColumnDecl:
    """A column as a CREATE TABLE would declare it."""

    name: str
    type: str                      # normalised: int, tinyint(1), varchar(255), char(1), text, timestamp
    not_null: bool = False         # declared NOT NULL
    null: bool = False             # declared NULL explicitly (matters for timestamps)
    default: str | None = None     # declared default, unquoted; CURRENT_TIMESTAMP for the function
    on_update: bool = False        # ON UPDATE CURRENT_TIMESTAMP
    auto_increment: bool = False


@dataclasses.dataclass(frozen=True)
class Column:
    """A column as the server holds it (resolved)."""

    name: str
    type: str
    nullable: bool
    default: str | None            # None: no default, or DEFAULT NULL on a nullable column
    on_update: bool = False
    auto_increment: bool = False

    def definition(self) -> str:
        """Full column definition for CREATE/ALTER, independent of server defaults."""
        parts = [self.type, "NULL" if self.nullable else "NOT NULL"]
        if self.auto_increment:
            parts.append("AUTO_INCREMENT")
        if self.default is not None:
            parts.append("DEFAULT " + render_default(self.type, self.default))
        elif self.nullable:
            parts.append("DEFAULT NULL")
        if self.on_update:
            parts.append("ON UPDATE CURRENT_TIMESTAMP")
        return " ".join(parts)

    def describe(self) -> str:
        return f"{self.type} {'NULL' if self.nullable else 'NOT NULL'}" + (
            f" DEFAULT {render_default(self.type, self.default)}" if self.default is not None else "") + (
            " ON UPDATE CURRENT_TIMESTAMP" if self.on_update else "") + (
            " AUTO_INCREMENT" if self.auto_increment else "")


@dataclasses.dataclass(frozen=True)
class Index:
    name: str                      # PRIMARY for the primary key
    columns: tuple[str, ...]
    unique: bool = False

    @property
    def primary(self) -> bool:
        return self.name == "PRIMARY"

    def clause(self) -> str:
        cols = ", ".join(f"`{c}`" for c in self.columns)
        if self.primary:
            return f"PRIMARY KEY ({cols})"
        return f"{'UNIQUE ' if self.unique else ''}KEY `{self.name}` ({cols})"


@dataclasses.dataclass(frozen=True)
class ForeignKey:
    name: str
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]

    def clause(self) -> str:
        cols = ", ".join(f"`{c}`" for c in self.columns)
        refs = ", ".join(f"`{c}`" for c in self.ref_columns)
        return f"CONSTRAINT `{self.name}` FOREIGN KEY ({cols}) REFERENCES `{self.ref_table}` ({refs})"

    def same_definition(self, other: "ForeignKey") -> bool:
        return (self.columns, self.ref_table, self.ref_columns) == (other.columns, other.ref_table, other.ref_columns)


@dataclasses.dataclass(frozen=True)
class TableDecl:
    name: str
    columns: tuple[ColumnDecl, ...]
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()

    def column(self, name: str) -> ColumnDecl:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}.{name}")


@dataclasses.dataclass(frozen=True)
class Table:
    """A resolved table: columns in order, indexes (by name), foreign keys (by name)."""

    name: str
    columns: tuple[Column, ...]
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    engine: str | None = "InnoDB"
    collation: str | None = None

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def primary_key(self) -> Index | None:
        for i in self.indexes:
            if i.primary:
                return i
        return None

    def index(self, name: str) -> Index | None:
        for i in self.indexes:
            if i.name == name:
                return i
        return None


@dataclasses.dataclass(frozen=True)
class SchemaDecl:
    """A Harbor revision's schema as declared, tables in creation order."""

    revision: str
    tables: tuple[TableDecl, ...]

    def table(self, name: str) -> TableDecl:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    def replace(self, revision: str, *, drop: Iterable[str] = (), put: Iterable[TableDecl] = ()) -> "SchemaDecl":
        """The next revision: tables dropped, replaced in place, or appended."""
        dropped = set(drop)
        put = list(put)
        by_name = {t.name: t for t in put}
        tables = [by_name.pop(t.name, t) for t in self.tables if t.name not in dropped]
        tables += [t for t in put if t.name in by_name]
        return SchemaDecl(revision, tuple(tables))


@dataclasses.dataclass(frozen=True)
class Schema:
    """A resolved schema: what information_schema shows, or what it should show."""

    tables: dict[str, Table]

    def table(self, name: str) -> Table | None:
        return self.tables.get(name)


def render_default(col_type: str, value: str) -> str:
    if value == CURRENT_TIMESTAMP:
        return CURRENT_TIMESTAMP
    if col_type.startswith(("int", "tinyint", "smallint", "bigint")) and value.lstrip("-").isdigit():
        return value
    return "'" + value.replace("'", "''") + "'"


def resolve_table(decl: TableDecl, explicit_defaults_for_timestamp: bool,
                  collation: str | None = None) -> Table:
    """Apply the server's implicit column rules to a declared table."""
    columns = []
    first_timestamp = next((c.name for c in decl.columns if c.type == "timestamp"), None)
    pk_cols = {c for i in decl.indexes if i.primary for c in i.columns}
    for c in decl.columns:
        nullable = not c.not_null and c.name not in pk_cols
        default = c.default
        on_update = c.on_update
        if c.type == "timestamp" and not explicit_defaults_for_timestamp:
            nullable = c.null
            if not c.null and c.default is None and not c.on_update and c.name == first_timestamp:
                default, on_update = CURRENT_TIMESTAMP, True
            elif not c.null and c.default is None:
                default = ZERO_DATE
        columns.append(Column(c.name, c.type, nullable, default, on_update, c.auto_increment))
    return Table(decl.name, tuple(columns), decl.indexes, decl.foreign_keys, "InnoDB", collation)


def resolve(decl: SchemaDecl, explicit_defaults_for_timestamp: bool, collation: str | None = None) -> Schema:
    return Schema({t.name: resolve_table(t, explicit_defaults_for_timestamp, collation) for t in decl.tables})


def render_create_declared(decl: TableDecl, engine_clause: str = "") -> str:
    """CREATE TABLE as Harbor's registry.sql declares it: the server applies its
    own timestamp rules, exactly as a fresh install would."""
    lines = []
    for c in decl.columns:
        parts = [f"`{c.name}`", c.type]
        if c.not_null:
            parts.append("NOT NULL")
        elif c.null:
            parts.append("NULL")
        if c.auto_increment:
            parts.append("AUTO_INCREMENT")
        if c.default is not None:
            parts.append("DEFAULT " + render_default(c.type, c.default))
        if c.on_update:
            parts.append("ON UPDATE CURRENT_TIMESTAMP")
        lines.append(" ".join(parts))
    lines += [i.clause() for i in decl.indexes]
    lines += [fk.clause() for fk in decl.foreign_keys]
    return f"CREATE TABLE `{decl.name}` (\n  " + ",\n  ".join(lines) + "\n)" + engine_clause


def render_create(table: Table, charset: str, collation: str, *, indexes: bool = True,
                  foreign_keys: bool = True, name: str | None = None, row_format: str = "") -> str:
    """CREATE TABLE with every column stated in full (independent of server defaults)."""
    lines = [f"`{c.name}` {c.definition()}" for c in table.columns]
    for i in table.indexes:
        if indexes or i.primary:
            lines.append(i.clause())
    if foreign_keys:
        lines += [fk.clause() for fk in table.foreign_keys]
    return (f"CREATE TABLE `{name or table.name}` (\n  " + ",\n  ".join(lines) +
            f"\n) ENGINE=InnoDB DEFAULT CHARSET={charset} COLLATE={collation}{row_format}")
