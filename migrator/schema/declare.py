"""Short constructors for declaring tables the way registry.sql does."""
from __future__ import annotations

from .model import CURRENT_TIMESTAMP, ColumnDecl, ForeignKey, Index


def c(name: str, type_: str, **kw) -> ColumnDecl:
    return ColumnDecl(name, type_, **kw)


def ident(name: str = "id") -> ColumnDecl:
    return c(name, "int", not_null=True, auto_increment=True)


def pk(*cols: str) -> Index:
    return Index("PRIMARY", cols, unique=True)


def uq(name: str, *cols: str) -> Index:
    return Index(name, cols or (name,), unique=True)


def ix(name: str, *cols: str) -> Index:
    return Index(name, cols or (name,))


def fk(name: str, col: str, ref_table: str, ref_col: str) -> ForeignKey:
    return ForeignKey(name, (col,), ref_table, (ref_col,))


def flag(name: str, default: str = "0") -> ColumnDecl:
    return c(name, "tinyint(1)", not_null=True, default=default)


# Timestamp declarations as registry.sql writes them.
def ts(name: str) -> ColumnDecl:               # bare "timestamp": server rules decide
    return c(name, "timestamp")


def ts_created(name: str = "creation_time") -> ColumnDecl:   # default CURRENT_TIMESTAMP
    return c(name, "timestamp", default=CURRENT_TIMESTAMP)


def ts_updated(name: str = "update_time") -> ColumnDecl:     # ... on update CURRENT_TIMESTAMP
    return c(name, "timestamp", default=CURRENT_TIMESTAMP, on_update=True)


STAMPS = (ts_created(), ts_updated())
