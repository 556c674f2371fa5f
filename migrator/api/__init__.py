"""The library API: one function per command, called by the CLI and by tests.

Each takes connection settings (and options), does its work through the
planner/executor/snapshot modules, and returns a result object that renders to
text and JSON. Nothing here prints; progress goes to a callback.
"""
from __future__ import annotations

from ..chain.executor import UpgradeOptions, UpgradeResult  # noqa: F401  (the types the verbs take and give)
from ..chain.revisions import HEAD, HEAD_RELEASE, ORDER, resolve_start, resolve_target  # noqa: F401
from .plan import PlannedOp, PlannedStep, PlanReport, plan  # noqa: F401
from .upgrade import UpgradeOutcome, schema_drift, start_revision, status, upgrade  # noqa: F401
from .verify import SECTIONS, VerifyReport, last_upgrade_snapshot, verify, verify_snapshot  # noqa: F401
from ..safety.preflight import raise_on_failures  # noqa: F401  (plan's failed checks -> upgrade's exit codes)
from ..verify.http import configure_tls  # noqa: F401  (verify's HTTPS: --ca-file, --insecure)
from .cfg import ConversionRefused, cfg_apply_insecure, cfg_check_key, cfg_convert, cfg_read_key  # noqa: F401
from .snapshots import restore, snapshot  # noqa: F401
from .tools import DemoServer, demo_server, demo_upgrade, rehearse, runbook, runbook_markdown  # noqa: F401
from .move import (MoveOutcome, MovePlan, plan_move, raise_on_move_failures, require_target, target_settings,  # noqa: F401
                   target_status, upgrade_to_postgres, verify_move)
from ..chain.revisions import PG_TARGET, is_pg_target  # noqa: F401
from .move_tools import ThrowawayTarget, demo_move, rehearse_to_postgres, runbook_move, throwaway_target  # noqa: F401
