"""Rows that differ between the snapshot and now, by key: missing, new, changed.

Both comparisons (projection hashes per key in ``database``, dumped rows in key order in
``dumped_rows``) report them in the same order and the same words.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from ..common.text import first_items

KINDS = ("missing", "new", "changed")
Changes = dict[str, list[str]]   # kind -> the keys (all, or the first ones when counts are given)


def key_changes(old: Mapping[str, object], new: Mapping[str, object]) -> Changes:
    """Keys only before, only now, and in both with another value."""
    return {"missing": [k for k in old if k not in new], "new": [k for k in new if k not in old],
            "changed": [k for k in old if k in new and old[k] != new[k]]}


def change_lines(name: str, changes: Mapping[str, Iterable[object]], counts: Mapping[str, int] | None = None,
                 key: str = "") -> list[str]:
    """``name: N kind: [key ]k1, k2 … (+M)``, one line per kind that has any."""
    lines = []
    for kind in KINDS:
        keys = list(changes.get(kind, ()))
        total = counts[kind] if counts is not None else len(keys)
        if total:
            lines.append(f"{name}: {total} {kind}: {key}{first_items(keys, total)}")
    return lines
