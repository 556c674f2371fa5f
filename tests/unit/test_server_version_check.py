"""The server_version check's matrix (a MariaDB 10.11 test server cannot pretend to be MySQL 5.5)."""
from __future__ import annotations

import dataclasses

import pytest

from migrator.verdicts import Verdict
from migrator.mysql.connection import ServerInfo
from migrator.safety.context import PreflightContext
from migrator.safety.server_checks import check_server_version


@dataclasses.dataclass
class _Server:
    info: ServerInfo

    def server_info(self) -> ServerInfo:
        return self.info


def _info(flavour: str, version: tuple[int, int, int]) -> ServerInfo:
    return ServerInfo(".".join(map(str, version)), flavour, version, False, "", "utf8", "utf8_general_ci", "InnoDB",
                      0, False)


@pytest.mark.parametrize("flavour,version,status", [
    ("mysql", (5, 5, 62), Verdict.FAIL), ("mysql", (5, 6, 51), Verdict.OK), ("mysql", (5, 7, 44), Verdict.OK),
    ("mysql", (8, 0, 36), Verdict.OK), ("mysql", (8, 4, 0), Verdict.WARN), ("mariadb", (5, 5, 68), Verdict.FAIL),
    ("mariadb", (10, 2, 44), Verdict.OK), ("mariadb", (10, 11, 6), Verdict.OK), ("mariadb", (12, 0, 1), Verdict.WARN),
])
def test_matrix(flavour, version, status):
    check = check_server_version(PreflightContext(_Server(_info(flavour, version)), None, None))
    assert check.status == status, check.message
    if status != Verdict.OK:
        assert "rehearse" in check.message or "upgrade" in check.message or "too old" in check.message
