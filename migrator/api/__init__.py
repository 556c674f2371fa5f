"""The library API: one function per command, called by the CLI and by tests.

Each takes connection settings (and options), does its work through the chain, safety,
snapshot and verify packages, and returns a result object that renders to text and JSON.
Nothing here prints; progress goes to a callback. The CLI imports this package and nothing
else of the program (tests/unit/test_dependency_rule.py).
"""
from __future__ import annotations

from ..chain.executor import UpgradeOptions, UpgradeResult
from ..chain.revisions import HEAD, HEAD_RELEASE, ORDER, PG_TARGET, is_pg_target, resolve_start, resolve_target
from ..safety.preflight import raise_on_failures
from ..verify.http import configure_tls
from .cfg import ConversionRefused, cfg_apply_insecure, cfg_check_key, cfg_convert, cfg_read_key
from .move import (MoveOutcome, MovePlan, plan_move, raise_on_move_failures, require_target, target_settings,
                   target_status, upgrade_to_postgres, verify_move)
from .move_tools import ThrowawayTarget, demo_move, rehearse_to_postgres, runbook_move, throwaway_target
from .plan import PlannedOp, PlannedStep, PlanReport, plan
from .snapshots import restore, snapshot
from .tools import DemoServer, demo_server, demo_upgrade, rehearse, runbook, runbook_markdown
from .upgrade import UpgradeOutcome, schema_drift, start_revision, status, upgrade
from .verify import SECTIONS, VerifyReport, last_upgrade_snapshot, verify, verify_snapshot

__all__ = [
    # the chain's names the CLI resolves flags with, and the types the verbs take and give
    "HEAD", "HEAD_RELEASE", "ORDER", "PG_TARGET", "is_pg_target", "resolve_start", "resolve_target",
    "UpgradeOptions", "UpgradeResult", "UpgradeOutcome", "PlannedOp", "PlannedStep", "PlanReport", "VerifyReport",
    "SECTIONS", "MoveOutcome", "MovePlan", "DemoServer", "ThrowawayTarget", "ConversionRefused",
    # verbs
    "status", "upgrade", "schema_drift", "start_revision", "plan", "raise_on_failures", "verify",
    "verify_snapshot", "last_upgrade_snapshot", "configure_tls", "snapshot", "restore", "rehearse", "runbook",
    "runbook_markdown", "demo_server", "demo_upgrade", "cfg_convert", "cfg_read_key", "cfg_check_key",
    "cfg_apply_insecure", "plan_move", "raise_on_move_failures", "require_target", "target_settings",
    "target_status", "upgrade_to_postgres", "verify_move", "demo_move", "rehearse_to_postgres", "runbook_move",
    "throwaway_target",
]
