"""The library API: one function per command, called by the CLI and by tests.

Each takes connection settings (and options), does its work through the chain, safety,
snapshot and verify packages, and returns a result object that renders to text and JSON.
Nothing here prints; progress goes to a callback. The CLI imports this package and nothing
else of the program (tests/unit/test_dependency_rule.py).

The names load on first use (PEP 562): ``harbor-migrate upgrade`` is part of the downtime
window, and it must not pay for PostgreSQL's driver, the HTTP client, the rehearsal tools or
harbor.cfg's rules, which only other verbs use (docs/benchmarks.md, "less work"). For that
reason no submodule here is named after a name it exports (``upgrading``, not ``upgrade``):
importing a submodule binds its name on this package, and would hide the function.
"""
from __future__ import annotations

import importlib
from typing import Any

# Where each public name lives, relative to this package: the one list of the API.
_EXPORTS: dict[str, tuple[str, ...]] = {
    # the chain's names the CLI resolves flags with, and the types the verbs take and give
    "..chain.revisions": ("HEAD", "HEAD_RELEASE", "ORDER", "PG_TARGET", "is_pg_target", "resolve_start",
                          "resolve_target"),
    "..chain.executor": ("UpgradeOptions", "UpgradeResult"),
    "..safety.preflight": ("raise_on_failures",),
    "..verify": ("SECTIONS",),
    "..verify.http": ("configure_tls",),
    # verbs
    ".upgrading": ("UpgradeOutcome", "schema_drift", "start_revision", "status", "upgrade"),
    ".planning": ("PlannedOp", "PlannedStep", "PlanReport", "plan"),
    ".verifying": ("VerifyReport", "last_upgrade_snapshot", "verify", "verify_snapshot"),
    ".snapshots": ("restore", "snapshot"),
    ".tools": ("DemoServer", "demo_server", "demo_upgrade", "rehearse", "runbook", "runbook_markdown"),
    ".cfg": ("ConversionRefused", "cfg_apply_insecure", "cfg_check_key", "cfg_convert", "cfg_read_key"),
    ".target": ("require_target", "target_settings"),
    ".move": ("MoveOutcome", "MovePlan", "plan_move", "raise_on_move_failures", "target_status",
              "upgrade_to_postgres", "verify_move"),
    ".move_tools": ("ThrowawayTarget", "demo_move", "rehearse_to_postgres", "runbook_move", "throwaway_target"),
}
_HOME = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = list(_HOME)


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # once: later lookups find it without coming here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
