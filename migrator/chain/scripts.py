"""The revision chain as alembic sees it, read from alembic_versions/ by ScriptDirectory.

The step definitions (migrator.steps) and the alembic scripts must describe the
same chain; ``check_chain`` is what the tests assert.
"""
from __future__ import annotations

from alembic.script import ScriptDirectory

from alembic_versions import SCRIPT_LOCATION


def script_directory() -> ScriptDirectory:
    return ScriptDirectory(SCRIPT_LOCATION, version_locations=[SCRIPT_LOCATION + "/versions"])


def check_chain() -> list[tuple[str, str | None]]:
    """(revision, down_revision) pairs of the whole chain, root first."""
    script = script_directory()
    return [(r.revision, r.down_revision) for r in reversed(list(script.walk_revisions()))]
