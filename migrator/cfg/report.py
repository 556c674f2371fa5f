"""The conversion report: one record per key, as text or JSON, passwords masked.

Every value of a password key is replaced by ``***`` when the record is made,
so nothing later (text, JSON, an error) can leak it.
"""
from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from ..errors import ConfigInvalid
from ..settings import MASK
from . import template as T

ACTIONS = ("kept", "changed", "added", "removed", "refused")
_SECRETISH = re.compile(r"pass|pwd|secret|token_key|credential", re.I)


def is_secret(key: str) -> bool:
    """Harbor's password keys; for keys we do not know, anything named like a password."""
    if key in T.BY_KEY or key in T.KEYS_050:
        return key in T.SECRET_KEYS
    return bool(_SECRETISH.search(key))


@dataclasses.dataclass
class Change:
    """What happened to one key. ``old``/``new`` are already masked for passwords."""

    key: str
    action: str                  # one of ACTIONS
    old: str | None = None
    new: str | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class ConvertReport:
    changes: list[Change] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    next_steps: list[str] = dataclasses.field(default_factory=list)
    source_version: str = "0.5.0"
    target_version: str = T.TARGET_VERSION
    target_release: str = "1.5.2"   # not in to_json: the JSON names the target by target_version

    def add(self, key: str, action: str, old: str | None, new: str | None, note: str = "") -> Change:
        if is_secret(key):
            old = MASK if old is not None else None
            new = MASK if new is not None else None
        change = Change(key, action, old, new, note)
        self.changes.append(change)
        return change

    def by_key(self, key: str) -> Change | None:
        return next((c for c in self.changes if c.key == key), None)

    @property
    def refused(self) -> list[Change]:
        return [c for c in self.changes if c.action == "refused"]

    def to_json(self) -> dict[str, Any]:
        return {
            "source_version": self.source_version,
            "target_version": self.target_version,
            "ok": not self.refused,
            "changes": [c.to_json() for c in self.changes],
            "warnings": list(self.warnings),
            "next_steps": list(self.next_steps),
        }

    def render_json(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def render_text(self) -> str:
        width = max([len(c.key) for c in self.changes] + [10])
        lines = [f"harbor.cfg {self.source_version} -> {self.target_release} (_version = {self.target_version})"]
        for c in self.changes:
            if c.action == "kept" and not c.note:
                value = _show(c.new)
            elif c.action in ("changed", "refused") or (c.action == "kept" and c.note):
                value = f"{_show(c.old)} -> {_show(c.new)}" if c.old != c.new else _show(c.new)
            elif c.action == "removed":
                value = _show(c.old)
            else:
                value = _show(c.new)
            line = f"  {c.action:<8} {c.key:<{width}}  {value}"
            lines.append(line + (f"   ({c.note})" if c.note else ""))
        counts = {a: sum(1 for c in self.changes if c.action == a) for a in ACTIONS}
        lines.append("  " + ", ".join(f"{n} {a}" for a, n in counts.items() if n))
        if self.warnings:
            lines.append("warnings:")
            lines += [f"  - {w}" for w in self.warnings]
        if self.next_steps:
            lines.append("next steps:")
            lines += [f"  - {s}" for s in self.next_steps]
        return "\n".join(lines)


def _show(value: str | None) -> str:
    return "(none)" if value is None else repr(value) if value == "" or value != value.strip() else value


class ConversionRefused(ConfigInvalid):
    """ConfigInvalid that carries the report, so ``--json`` can show every refused key."""

    def __init__(self, message: str, report: ConvertReport):
        super().__init__(message)
        self.report = report
