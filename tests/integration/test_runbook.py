"""runbook: rendered for this environment, with its names, steps, timings and commands."""
from __future__ import annotations

import json

import pytest

from tests.helpers import run_cli

pytestmark = pytest.mark.integration


def test_runbook_markdown_and_json(dbs_off, tmp_path, monkeypatch):
    monkeypatch.setenv("HARBOR_MIGRATE_STATE_DIR", str(tmp_path / "state"))
    settings = dbs_off.seeded()
    dsn = f"mysql://root@localhost/{settings.database}?unix_socket={dbs_off.server.socket}"
    code, out, err = run_cli(["runbook", "--snapshot-dir", str(tmp_path), "--cfg", "/etc/harbor/harbor.cfg",
                              "--dsn", dsn])
    assert code == 0, err
    assert f"for `{settings.database}`" in out and "Expected downtime" in out
    for heading in ("## Before the window", "## During the window", "## After the window", "## Rollback"):
        assert heading in out
    assert f"harbor-migrate upgrade --to 1.5.2 --snapshot-dir {tmp_path}" in out
    assert "cfg convert /etc/harbor/harbor.cfg" in out and "harbor-migrate restore" in out
    assert "| 1.2.0 | access_log: rebuild with username" in out
    code, out, err = run_cli(["runbook", "--json", "--snapshot-dir", str(tmp_path), "--dsn", dsn])
    book = json.loads(out)
    assert book["name"] == settings.database and len(book["steps"]) == 4
    assert set(book["phases"]) == {"before", "during", "after", "rollback"}
