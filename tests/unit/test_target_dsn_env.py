"""HARBOR_MIGRATE_TARGET_DSN names two targets: restore's MySQL database and the 1.6.0 PostgreSQL one.

The scheme decides whose it is (docs/decisions.md): each command refuses the other kind with
exit 2 and one line, before any server is reached (port 1 answers nothing).
"""
from __future__ import annotations

from migrator.cli.options import _restore_target
from tests.helpers import run_cli

PG = "postgresql://harbor:secret@127.0.0.1:1/registry"
MY = "mysql://root:secret@127.0.0.1:1/restored"
SOURCE = "mysql://root@127.0.0.1:1/registry"


def env(target: str) -> dict:
    return {"HARBOR_MIGRATE_TARGET_DSN": target, "HARBOR_MIGRATE_DSN": None, "HARBOR_MIGRATE_CONFIG": None}


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "secret" not in err
    return lines[0]


def test_restore_refuses_a_postgresql_variable(tmp_path):
    code, _, err = run_cli(["restore", str(tmp_path / "snap.json")], env=env(PG))
    assert code == 2
    assert "HARBOR_MIGRATE_TARGET_DSN holds a postgresql:// DSN" in one_line(err)


def test_restore_refuses_a_postgresql_flag(tmp_path):
    code, _, err = run_cli(["restore", str(tmp_path / "snap.json"), "--target-dsn", PG], env=env(MY))
    assert code == 2 and "restore writes into MySQL" in one_line(err)


def test_restore_takes_a_mysql_variable_and_flags_before_it(monkeypatch):
    monkeypatch.setenv("HARBOR_MIGRATE_TARGET_DSN", MY)
    assert _restore_target(None, None) == MY
    assert _restore_target(None, SOURCE) == SOURCE                  # --dsn > the variable
    monkeypatch.setenv("HARBOR_MIGRATE_TARGET_DSN", PG)
    assert _restore_target(None, SOURCE) == SOURCE                  # not consulted: nothing to refuse


def test_move_refuses_a_mysql_variable():
    code, _, err = run_cli(["upgrade", "--to", "1.6.0", "--yes", "--dsn", SOURCE], env=env(MY))
    assert code == 2
    assert "HARBOR_MIGRATE_TARGET_DSN holds a mysql:// DSN (restore's target)" in one_line(err)
    code, _, err = run_cli(["plan", "--to", "1.6.0", "--dsn", SOURCE], env=env(MY))
    assert code == 2 and "restore's target" in one_line(err)


def test_move_refuses_a_mysql_flag():
    code, _, err = run_cli(["upgrade", "--to", "1.6.0", "--yes", "--dsn", SOURCE, "--target-dsn", MY], env=env(PG))
    assert code == 2 and "unsupported DSN scheme mysql://" in one_line(err)


def test_status_with_restores_variable_stays_on_mysql():
    # The variable is restore's: status reads the MySQL database (unreachable here: exit 3), never refuses.
    code, _, err = run_cli(["status", "--dsn", SOURCE], env=env(MY))
    assert code == 3 and "127.0.0.1:1" in err and "PostgreSQL" not in err
