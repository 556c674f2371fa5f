"""Compare schemas, and turn the difference of one table into ALTER statements.

``compare`` lists every drift between an expected and a live schema (used by
``status``, ``verify`` and the tests). ``converge_table`` is how the upgrade
changes tables: from the *live* definition to the revision's model, so that
constraint and index names are whatever the server really holds, a half-done
table is finished rather than redone, and every change to one table is one
ALTER (foreign keys apart: MySQL's COPY algorithm refuses to add and drop them
in the same statement as other changes).
"""
from __future__ import annotations

import dataclasses
import re
from typing import Mapping

from ..mysql.connection import quote_ident as q
from .model import Column, ForeignKey, Index, Schema, Table


@dataclasses.dataclass(frozen=True)
class Drift:
    table: str
    kind: str          # missing_table, extra_table, missing_column, extra_column, column, column_order,
                       # missing_index, extra_index, index, missing_fk, extra_fk, fk, engine, collation
    detail: str

    def __str__(self) -> str:
        return f"{self.table}: {self.detail}"


def same_column(a: Column, b: Column) -> bool:
    return (a.type, a.nullable, a.default, a.on_update, a.auto_increment) == (
        b.type, b.nullable, b.default, b.on_update, b.auto_increment)


def compare_table(want: Table, live: Table) -> list[Drift]:
    t = want.name
    out: list[Drift] = []
    live_cols = {c.name: c for c in live.columns}
    want_cols = {c.name: c for c in want.columns}
    for c in want.columns:
        lc = live_cols.get(c.name)
        if lc is None:
            out.append(Drift(t, "missing_column", f"column {c.name} missing (expected {c.describe()})"))
        elif not same_column(c, lc):
            out.append(Drift(t, "column", f"column {c.name} is {lc.describe()}, expected {c.describe()}"))
    for c in live.columns:
        if c.name not in want_cols:
            out.append(Drift(t, "extra_column", f"unexpected column {c.name} {c.describe()}"))
    common_live = [n for n in live.column_names if n in want_cols]
    common_want = [n for n in want.column_names if n in live_cols]
    if common_live != common_want:
        out.append(Drift(t, "column_order", f"column order {', '.join(live.column_names)}; "
                                            f"expected {', '.join(want.column_names)}"))
    live_idx = {i.name: i for i in live.indexes}
    for i in want.indexes:
        li = live_idx.get(i.name)
        if li is None:
            out.append(Drift(t, "missing_index", f"index {i.clause()} missing"))
        elif (li.columns, li.unique) != (i.columns, i.unique):
            out.append(Drift(t, "index", f"index {li.clause()}, expected {i.clause()}"))
    want_idx = {i.name for i in want.indexes}
    for i in live.indexes:
        if i.name not in want_idx:
            out.append(Drift(t, "extra_index", f"unexpected index {i.clause()}"))
    live_fk = {f.name: f for f in live.foreign_keys}
    for f in want.foreign_keys:
        lf = live_fk.get(f.name)
        if lf is None:
            out.append(Drift(t, "missing_fk", f"foreign key {f.clause()} missing"))
        elif not lf.same_definition(f):
            out.append(Drift(t, "fk", f"foreign key {lf.clause()}, expected {f.clause()}"))
    want_fk = {f.name for f in want.foreign_keys}
    for f in live.foreign_keys:
        if f.name not in want_fk:
            out.append(Drift(t, "extra_fk", f"unexpected foreign key {f.clause()}"))
    if want.engine and live.engine and want.engine.lower() != live.engine.lower():
        out.append(Drift(t, "engine", f"engine {live.engine}, expected {want.engine}"))
    if want.collation and live.collation and want.collation != live.collation:
        out.append(Drift(t, "collation", f"collation {live.collation}, expected {want.collation}"))
    return out


def compare(want: Schema, live: Schema, ignore: set[str] | frozenset[str] = frozenset()) -> list[Drift]:
    """Every difference between the expected and the live schema."""
    out: list[Drift] = []
    for name in sorted(want.tables):
        if name in ignore:
            continue
        if name not in live.tables:
            out.append(Drift(name, "missing_table", "table missing"))
        else:
            out.extend(compare_table(want.tables[name], live.tables[name]))
    for name in sorted(live.tables):
        if name not in want.tables and name not in ignore:
            out.append(Drift(name, "extra_table", "unexpected table"))
    return out


@dataclasses.dataclass
class TableChange:
    """The statements that bring one live table to its model, in order."""

    table: str
    fk_drops: list[str] = dataclasses.field(default_factory=list)
    clauses: list[str] = dataclasses.field(default_factory=list)
    index_adds: list[str] = dataclasses.field(default_factory=list)
    post: list[str] = dataclasses.field(default_factory=list)
    fk_adds: list[ForeignKey] = dataclasses.field(default_factory=list)
    checks: list[tuple[str, str]] = dataclasses.field(default_factory=list)  # (what, SQL counting bad rows)
    rebuilds: bool = False  # the main ALTER changes columns or the primary key (a table copy on old servers)

    @property
    def empty(self) -> bool:
        return not (self.fk_drops or self.clauses or self.index_adds or self.post or self.fk_adds)

    def statements(self) -> list[str]:
        t = q(self.table)
        out = []
        if self.fk_drops:
            out.append(f"ALTER TABLE {t} " + ", ".join(f"DROP FOREIGN KEY {q(n)}" for n in self.fk_drops))
        if self.clauses:
            out.append(f"ALTER TABLE {t}\n  " + ",\n  ".join(self.clauses))
        if self.index_adds:
            # Apart from the column changes: an instant ADD COLUMN stays instant, and the index is
            # built in place from sorted runs (MySQL 5.6 too) instead of forcing a table copy.
            out.append(f"ALTER TABLE {t} " + ", ".join(self.index_adds) + ", ALGORITHM=INPLACE")
        out.extend(self.post)
        if self.fk_adds:
            out.append(f"ALTER TABLE {t} " + ", ".join("ADD " + f.clause() for f in self.fk_adds))
        return out


def converge_table(live: Table, want: Table, renames: Mapping[str, str] | None = None,
                   fills: Mapping[str, str] | None = None) -> TableChange:
    """ALTERs from ``live`` to ``want``.

    ``renames`` maps a wanted column to the live column it replaces (CHANGE
    keeps its data). ``fills`` gives the value (a SQL literal) that existing
    rows get in a NOT NULL column being added or tightened.
    """
    renames = {new: old for new, old in (renames or {}).items() if live.column(old) is not None
               and live.column(new) is None}
    fills = dict(fills or {})
    old_to_new = {old: new for new, old in renames.items()}
    change = TableChange(want.name)
    t = q(want.name)

    # Foreign keys: by name and definition (columns seen through renames).
    want_fk = {f.name: f for f in want.foreign_keys}
    kept_fk = set()
    for f in live.foreign_keys:
        mapped = dataclasses.replace(f, columns=tuple(old_to_new.get(c, c) for c in f.columns))
        w = want_fk.get(f.name)
        if w is not None and w.same_definition(mapped) and not any(c in old_to_new for c in f.columns):
            kept_fk.add(f.name)
        else:
            change.fk_drops.append(f.name)
    change.fk_adds = [f for f in want.foreign_keys if f.name not in kept_fk]

    # Indexes to drop.
    want_idx = {i.name: i for i in want.indexes}
    kept_idx = set()
    drop_clauses = []
    for i in live.indexes:
        mapped_cols = tuple(old_to_new.get(c, c) for c in i.columns)
        w = want_idx.get(i.name)
        if w is not None and (w.columns, w.unique) == (mapped_cols, i.unique):
            kept_idx.add(i.name)
        else:
            drop_clauses.append("DROP PRIMARY KEY" if i.primary else f"DROP INDEX {q(i.name)}")
            if i.primary:
                change.rebuilds = True

    # Columns.
    want_names = set(want.column_names)
    column_clauses = []
    survivors = []
    for lc in live.columns:
        new = old_to_new.get(lc.name, lc.name)
        if new in want_names:
            survivors.append(new)
        else:
            column_clauses.append(f"DROP COLUMN {q(lc.name)}")
            change.rebuilds = True
    order = list(survivors)
    for pos, wc in enumerate(want.columns):
        prev = want.columns[pos - 1].name if pos else None
        where = f"AFTER {q(prev)}" if prev else "FIRST"
        expected_pos = order.index(prev) + 1 if prev else 0
        if wc.name not in order:
            definition = wc.definition()
            if wc.name in fills and not wc.nullable and wc.default is None:
                definition = dataclasses.replace(wc, default=fills[wc.name].strip("'")).definition()
                change.post.append(f"ALTER TABLE {t} ALTER COLUMN {q(wc.name)} DROP DEFAULT")
            column_clauses.append(f"ADD COLUMN {q(wc.name)} {definition} {where}")
            order.insert(expected_pos, wc.name)
            change.rebuilds = True
            continue
        old = renames.get(wc.name, wc.name)
        lc = live.column(old)
        assert lc is not None
        position_ok = order.index(wc.name) == expected_pos
        definition_ok = same_column(lc, wc) and old == wc.name
        if definition_ok and position_ok:
            continue
        verb = f"CHANGE COLUMN {q(old)} {q(wc.name)}" if old != wc.name else f"MODIFY COLUMN {q(wc.name)}"
        column_clauses.append(f"{verb} {wc.definition()}" + ("" if position_ok else f" {where}"))
        if not position_ok:
            order.remove(wc.name)
            order.insert(order.index(prev) + 1 if prev else 0, wc.name)
        if not (lc.type == wc.type and lc.nullable == wc.nullable) or not position_ok:
            change.rebuilds = True
        if lc.nullable and not wc.nullable and wc.name not in fills:
            change.checks.append((f"{want.name}.{old} has NULLs but becomes NOT NULL",
                                  f"SELECT COUNT(*) FROM {t} WHERE {q(old)} IS NULL"))
        narrowed = _narrowing(lc.type, wc.type)
        if narrowed:
            change.checks.append((f"{want.name}.{old} has values longer than {narrowed} characters",
                                  f"SELECT COUNT(*) FROM {t} WHERE CHAR_LENGTH({q(old)}) > {narrowed}"))

    add_clauses = []
    live_cols_now = {old_to_new.get(c, c) for c in live.column_names}
    for i in want.indexes:
        if i.name in kept_idx:
            continue
        add_clauses.append("ADD " + i.clause())
        if i.unique and not i.primary and all(c in live_cols_now for c in i.columns):
            cols = [renames.get(c, c) for c in i.columns]
            if not any(c in fills for c in i.columns):
                group = ", ".join(q(c) for c in cols)
                not_null = " AND ".join(f"{q(c)} IS NOT NULL" for c in cols)
                change.checks.append((
                    f"{want.name} has duplicate ({', '.join(cols)}) against the new unique key {i.name}",
                    f"SELECT COUNT(*) FROM (SELECT 1 FROM {t} WHERE {not_null} GROUP BY {group} "
                    f"HAVING COUNT(*) > 1) d"))
        if i.primary:
            change.rebuilds = True
    # Index additions get their own statement (see TableChange.statements) unless this one
    # drops an index: a foreign key may need the new index in the same statement (error 1553).
    separate = not any(c.startswith("DROP INDEX") for c in drop_clauses)
    keep = [c for c in add_clauses if c.startswith("ADD PRIMARY KEY") or not separate]
    change.clauses = drop_clauses + column_clauses + keep
    change.index_adds = [c for c in add_clauses if c not in keep]
    if not change.clauses and change.index_adds:
        change.clauses, change.index_adds = change.index_adds, []  # nothing else: one plain statement
    return change


def _narrowing(old_type: str, new_type: str) -> int | None:
    """The new length when a varchar/char gets shorter, else None."""
    m_old = re.fullmatch(r"(?:var)?char\((\d+)\)", old_type)
    m_new = re.fullmatch(r"(?:var)?char\((\d+)\)", new_type)
    if m_old and m_new and int(m_new.group(1)) < int(m_old.group(1)):
        return int(m_new.group(1))
    return None
