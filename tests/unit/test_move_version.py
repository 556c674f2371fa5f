"""The move's target_version verdict, without a server: Harbor 1.6.0 shipped PostgreSQL 9.6."""
from __future__ import annotations

from migrator.safety.move_checks import MIN_PG_VERSION, judge_version
from migrator.verdicts import Verdict


def test_older_than_96_fails_with_the_version_named():
    check = judge_version(90524, "9.5.24")
    assert check.status == Verdict.FAIL
    assert "PostgreSQL 9.5.24 is older than 9.6" in check.message


def test_96_and_newer_pass():
    assert MIN_PG_VERSION[0] == 90600
    for num, version in [(90600, "9.6.0"), (90624, "9.6.24"), (100023, "10.23"), (150014, "15.14 (Debian)")]:
        check = judge_version(num, version)
        assert check.status == Verdict.OK and version in check.message, num
