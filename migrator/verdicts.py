"""Named check results, shared by pre-flight and verify: ok / warn / fail, one line each.

A check's ``message`` is one line a human reads (naming the fix when it is not
ok); ``details`` are the lines below it (differences, offending keys). Both go
to JSON unchanged, so never put a secret in them.
"""
from __future__ import annotations

import dataclasses
import enum
from typing import Any, Iterable


class Verdict(str, enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclasses.dataclass
class Check:
    name: str
    status: Verdict
    message: str
    details: list[str] = dataclasses.field(default_factory=list)
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    exit_code: int | None = None  # the ExitCode this failure maps to, when it is specific

    def to_json(self) -> dict[str, Any]:
        out = {"name": self.name, "status": self.status.value, "message": self.message, "details": self.details}
        if self.data:
            out["data"] = self.data
        return out

    def line(self) -> str:
        return f"[{self.status.value:>4}] {self.name}: {self.message}"


def worst(checks: Iterable[Check]) -> Verdict:
    order = [Verdict.SKIP, Verdict.OK, Verdict.WARN, Verdict.FAIL]
    result = Verdict.SKIP
    for c in checks:
        if order.index(c.status) > order.index(result):
            result = c.status
    return result
