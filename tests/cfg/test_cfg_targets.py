"""verify_remote_cert = off -> insecure = 1 on every replication target, on a real MariaDB."""
from __future__ import annotations

import pytest
from cfg_helpers import set_key, target_database

from migrator.cfg.targets import apply_insecure_from_cfg, verify_remote_cert
from migrator.verdicts import Verdict
from migrator.errors import ConfigInvalid, ExitCode, PreflightFailed

STAMP = "2017-03-01 10:00:00"


def state(db) -> list[tuple]:
    return [(int(i), int(f), str(t)) for i, f, t in
            db.query("SELECT id, insecure, update_time FROM replication_target ORDER BY id")]


def test_reading_the_setting(cfg_050):
    assert verify_remote_cert(cfg_050) is True
    assert verify_remote_cert(set_key(cfg_050, "verify_remote_cert", "OFF")) is False
    assert verify_remote_cert("hostname = x\n") is None
    with pytest.raises(ConfigInvalid, match="must be on or off"):
        verify_remote_cert(set_key(cfg_050, "verify_remote_cert", "no"))


@pytest.mark.integration
def test_off_sets_every_target_insecure(cfg_server, cfg_050):
    off = set_key(cfg_050, "verify_remote_cert", "off")
    with target_database(cfg_server, "1.5.0", [("a", None, 0), ("b", None, 1), ("c", None, 0)]) as db:
        check = apply_insecure_from_cfg(db, off)
        assert check.status == Verdict.OK and check.data["changed"] == 2
        assert check.data["to_change"] == [1, 3]
        assert state(db) == [(1, 1, STAMP), (2, 1, STAMP), (3, 1, STAMP)]     # update_time untouched
        again = apply_insecure_from_cfg(db, off)
        assert again.status == Verdict.OK and "already" in again.message


@pytest.mark.integration
def test_dry_run_changes_nothing(cfg_server, cfg_050):
    off = set_key(cfg_050, "verify_remote_cert", "off")
    with target_database(cfg_server, "1.5.0", [("a", None, 0), ("b", None, 0)]) as db:
        before = state(db)
        check = apply_insecure_from_cfg(db, off, dry_run=True)
        assert check.status == Verdict.WARN and "would set insecure = 1 on 2 of 2" in check.message
        assert state(db) == before


@pytest.mark.integration
def test_on_or_absent_changes_nothing(cfg_server, cfg_050):
    with target_database(cfg_server, "1.3.0", [("a", None, 0)]) as db:
        before = state(db)
        assert "nothing to change" in apply_insecure_from_cfg(db, cfg_050).message
        no_key = "\n".join(ln for ln in cfg_050.splitlines() if not ln.startswith("verify_remote_cert"))
        assert "not set" in apply_insecure_from_cfg(db, no_key).message
        assert state(db) == before


@pytest.mark.integration
def test_needs_the_upgraded_database(cfg_server, cfg_050):
    off = set_key(cfg_050, "verify_remote_cert", "off")
    with target_database(cfg_server, "0.4.0", [("a", None)]) as db:
        with pytest.raises(PreflightFailed) as exc:
            apply_insecure_from_cfg(db, off)
    assert "harbor-migrate upgrade" in exc.value.message
    assert exc.value.exit_code == ExitCode.PREFLIGHT_FAILED
