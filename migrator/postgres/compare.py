"""Differences between two PostgreSQL schemas, one line each, the expected one first.

Every line starts with the object it is about (``table project: …``,
``sequence access_access_id_seq: …``, ``function update_update_time_at_column(): …``)
and says what the actual schema has against what is expected. A constraint,
index or trigger present on both sides under different names is reported once,
as a rename, not as one missing and one new. Indexes that implement a primary
key or unique constraint are reported through their constraint only.
"""
from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from .introspect import PgColumn, PgSchema, PgTable

T = TypeVar("T")


def compare_schemas(expected: PgSchema, actual: PgSchema) -> list[str]:
    """All differences; an empty list means the two schemas are the same."""
    out: list[str] = []
    for name in sorted(expected.tables.keys() - actual.tables.keys()):
        out.append(f"table {name}: missing")
    for name in sorted(actual.tables.keys() - expected.tables.keys()):
        out.append(f"table {name}: not in the expected schema")
    for name in sorted(expected.tables.keys() & actual.tables.keys()):
        out += compare_tables(expected.tables[name], actual.tables[name])

    for name in sorted(expected.sequences.keys() - actual.sequences.keys()):
        s = expected.sequences[name]
        out.append(f"sequence {name}: missing ({s.data_type}, owned by {s.owned_by or 'no column'})")
    for name in sorted(actual.sequences.keys() - expected.sequences.keys()):
        s = actual.sequences[name]
        out.append(f"sequence {name}: not in the expected schema ({s.data_type}, owned by {s.owned_by or 'no column'})")
    for name in sorted(expected.sequences.keys() & actual.sequences.keys()):
        e, a = expected.sequences[name], actual.sequences[name]
        if e.data_type != a.data_type:
            out.append(f"sequence {name}: type {a.data_type}, expected {e.data_type}")
        if e.owned_by != a.owned_by:
            out.append(f"sequence {name}: owned by {a.owned_by or 'no column'}, expected {e.owned_by or 'no column'}")
        if (e.start, e.increment) != (a.start, a.increment):
            out.append(f"sequence {name}: start {a.start} increment {a.increment}, "
                       f"expected start {e.start} increment {e.increment}")

    for sig in sorted(expected.functions.keys() - actual.functions.keys()):
        out.append(f"function {sig}: missing")
    for sig in sorted(actual.functions.keys() - expected.functions.keys()):
        out.append(f"function {sig}: not in the expected schema")
    for sig in sorted(expected.functions.keys() & actual.functions.keys()):
        e, a = expected.functions[sig], actual.functions[sig]
        if (e.result, e.language) != (a.result, a.language):
            out.append(f"function {sig}: returns {a.result} in {a.language}, expected {e.result} in {e.language}")
        if _squash(e.body) != _squash(a.body):
            out.append(f"function {sig}: body differs")
    return out


def compare_tables(expected: PgTable, actual: PgTable) -> list[str]:
    t = f"table {expected.name}"
    out: list[str] = []
    e_cols, a_cols = expected.column_names, actual.column_names
    for name in e_cols:
        if name not in a_cols:
            out.append(f"{t}: column {name} missing")
    for name in a_cols:
        if name not in e_cols:
            out.append(f"{t}: column {name} not in the expected schema")
    common_e = [c for c in e_cols if c in a_cols]
    common_a = [c for c in a_cols if c in e_cols]
    if common_e != common_a:
        out.append(f"{t}: column order ({', '.join(common_a)}), expected ({', '.join(common_e)})")
    for name in common_e:
        out += _compare_column(t, expected.column(name), actual.column(name))  # type: ignore[arg-type]

    out += _named(t, "constraint", expected.constraints, actual.constraints,
                  shape=lambda c: f"{c.kind} {c.definition}", show=lambda c: c.definition)
    plain_e = {k: v for k, v in expected.indexes.items() if not v.constraint}
    plain_a = {k: v for k, v in actual.indexes.items() if not v.constraint}
    out += _named(t, "index", plain_e, plain_a, shape=lambda i: i.shape, show=lambda i: i.shape)
    out += _named(t, "trigger", expected.triggers, actual.triggers, shape=lambda g: g.shape, show=lambda g: g.shape)
    return out


def _compare_column(t: str, e: PgColumn, a: PgColumn) -> list[str]:
    out = []
    if e.type != a.type:
        out.append(f"{t}: column {e.name} type {a.type}, expected {e.type}")
    if e.nullable != a.nullable:
        out.append(f"{t}: column {e.name} {_null(a.nullable)}, expected {_null(e.nullable)}")
    if e.default != a.default:
        out.append(f"{t}: column {e.name} default {a.default or 'none'}, expected {e.default or 'none'}")
    if e.identity != a.identity:
        out.append(f"{t}: column {e.name} identity {a.identity or 'none'}, expected {e.identity or 'none'}")
    return out


def _named(t: str, kind: str, expected: dict[str, T], actual: dict[str, T],
           shape: Callable[[T], str], show: Callable[[T], str]) -> list[str]:
    """Missing / new / changed objects by name, pairing a missing one with a new one of the same shape as a rename."""
    out: list[str] = []
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    for name in list(missing):
        twin = next((x for x in extra if shape(actual[x]) == shape(expected[name])), None)
        if twin is not None:
            out.append(f"{t}: {kind} {show(expected[name])} named {twin}, expected {name}")
            missing.remove(name)
            extra.remove(twin)
    out += [f"{t}: {kind} {name} missing ({show(expected[name])})" for name in missing]
    out += [f"{t}: {kind} {name} not in the expected schema ({show(actual[name])})" for name in extra]
    for name in sorted(expected.keys() & actual.keys()):
        if shape(expected[name]) != shape(actual[name]):
            out.append(f"{t}: {kind} {name} is {show(actual[name])}, expected {show(expected[name])}")
    return out


def _null(nullable: bool) -> str:
    return "nullable" if nullable else "NOT NULL"


def _squash(text: str) -> str:
    return " ".join(text.split())


def summary(differences: Iterable[str]) -> str:
    lines = list(differences)
    return "identical" if not lines else f"{len(lines)} difference(s)"
