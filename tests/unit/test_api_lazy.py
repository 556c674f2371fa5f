"""The API's names load on first use; `upgrade` (inside the downtime window) loads only its own.

Each check runs in a fresh interpreter: this test process has long imported everything.
"""
from __future__ import annotations

import inspect
import json
import subprocess
import sys

# What the upgrade verb resolves from the API, as cli/upgrade_cmd.py does.
UPGRADE_NAMES = ("upgrade", "UpgradeOptions", "resolve_target", "resolve_start", "status", "raise_on_failures",
                 "HEAD", "PG_TARGET", "is_pg_target")
# Loaded only by other verbs: PostgreSQL's driver, the HTTP client, harbor.cfg's rules, the move.
NOT_FOR_UPGRADE = ("psycopg", "requests", "migrator.cfg.convert", "migrator.move.copy", "migrator.api.move",
                   "migrator.api.tools", "migrator.verify.harbor_api", "migrator.postgres.connection")


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                         check=True, capture_output=True, text=True).stdout
    return set(json.loads(out.splitlines()[-1]))


def test_the_cli_loads_no_verb():
    loaded = _modules_after("import migrator.cli")
    assert not {m for m in loaded if m.startswith("migrator.api.")}
    assert "psycopg" not in loaded and "alembic" not in loaded


def test_the_upgrade_verb_loads_what_it_uses_and_not_the_rest():
    loaded = _modules_after("import migrator.cli\nfrom migrator import api\n"
                            + "".join(f"api.{n}\n" for n in UPGRADE_NAMES))
    assert "migrator.api.upgrading" in loaded and "alembic" in loaded
    assert not set(NOT_FOR_UPGRADE) & loaded, set(NOT_FOR_UPGRADE) & loaded


def test_every_name_resolves_and_no_submodule_hides_a_verb():
    from migrator import api
    import migrator.api.move_tools  # noqa: F401  loads every submodule, binding their names on the package
    for name in api.__all__:
        value = getattr(api, name)
        assert not inspect.ismodule(value), name
    assert callable(api.upgrade) and callable(api.plan) and callable(api.verify)
    assert set(api.__all__) <= set(dir(api))
