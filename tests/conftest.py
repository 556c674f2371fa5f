"""Fixtures: throwaway MariaDB servers (local binary), fresh databases, reference files.

Servers are started once per session per timestamp mode (about 1 s each) and
torn down after; each test gets its own database on them. Tests that need
Harbor's reference files skip with a reason when ../shared/harbor-reference is
absent.
"""
from __future__ import annotations

import itertools
import os
import pathlib
import re
import subprocess

import pytest

from migrator.mysql.connection import connect
from migrator.tools.local_server import LocalServer, find_binary

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE = pathlib.Path(os.environ.get("HARBOR_REFERENCE_DIR", ROOT.parent / "shared" / "harbor-reference"))
_counter = itertools.count()


def _need_server() -> None:
    if not find_binary(["mariadbd", "mysqld"]):
        pytest.skip("no mariadbd/mysqld binary: install mariadb-server (apt-get install mariadb-server)")


def _start(options: dict[str, str]) -> LocalServer:
    _need_server()
    return LocalServer(options).start()


@pytest.fixture(scope="session")
def server_off():
    """MariaDB with explicit_defaults_for_timestamp OFF, as MySQL 5.6 and every stock Harbor had it."""
    s = _start({"explicit-defaults-for-timestamp": "OFF"})
    yield s
    s.destroy()


@pytest.fixture(scope="session")
def server_on():
    """MariaDB with explicit_defaults_for_timestamp ON (MySQL 8 / MariaDB >= 10.10 default)."""
    s = _start({"explicit-defaults-for-timestamp": "ON"})
    yield s
    s.destroy()


@pytest.fixture(params=["OFF", "ON"], ids=["ts-off", "ts-on"])
def server(request, server_off, server_on):
    """Both timestamp modes, for tests that must hold for each."""
    return server_off if request.param == "OFF" else server_on


class DatabaseFactory:
    """Creates uniquely named databases on a server and drops them afterwards."""

    def __init__(self, server: LocalServer):
        self.server = server
        self.names: list[str] = []

    def create(self, prefix: str = "t", charset: str = "utf8") -> str:
        name = f"{prefix}_{os.getpid()}_{next(_counter)}"
        self.server.create_database(name, charset)
        self.names.append(name)
        return name

    def settings(self, name: str):
        return self.server.settings(name)

    def seeded(self, prefix: str = "h", charset: str = "utf8", sample: bool = True):
        """A Harbor 0.5.0 database from our own model; returns its settings."""
        from migrator.tools.seed import seed_050

        name = self.create(prefix, charset)
        with connect(self.settings(name)) as db:
            seed_050(db, sample=sample)
        return self.settings(name)

    def cleanup(self) -> None:
        for n in self.names:
            try:
                self.server.admin(f"DROP DATABASE IF EXISTS `{n}`")
            except Exception:
                pass


def _alive(server: LocalServer) -> LocalServer:
    """A session server that died (another test's crash, an outside kill) is restarted,
    so one failure does not fail every later test; the log line says so."""
    if server.ensure_running():
        import warnings
        warnings.warn(f"the test server on port {server.port} had died and was restarted: {server._log_tail()}")
    return server


@pytest.fixture
def dbs(server):
    f = DatabaseFactory(_alive(server))
    yield f
    f.cleanup()


@pytest.fixture
def dbs_off(server_off):
    f = DatabaseFactory(_alive(server_off))
    yield f
    f.cleanup()


@pytest.fixture(scope="session")
def reference() -> pathlib.Path:
    if not (REFERENCE / "schema" / "registry-1.5.2.sql").exists():
        pytest.skip(f"Harbor reference files not found at {REFERENCE} (../shared/harbor-reference)")
    return REFERENCE


def load_reference_sql(server: LocalServer, database: str, path: pathlib.Path) -> None:
    """Load one of Harbor's registry.sql files into ``database`` (its own DROP/CREATE/USE removed)."""
    sql = path.read_text(encoding="utf-8")
    sql = re.sub(r"(?is)drop\s+database\s+if\s+exists\s+registry\s*;\s*create\s+database\s+registry[^;]*;\s*"
                 r"use\s+registry\s*;", "", sql)
    client = "mariadb" if find_binary(["mariadb"]) else "mysql"
    subprocess.run([client, f"--socket={server.socket}", "-uroot", "--default-character-set=utf8mb4", database],
                   input=sql, text=True, check=True, capture_output=True)


@pytest.fixture
def tiny_dir(tmp_path):
    """A 64 KiB tmpfs, for the no-space cases (skips where mounting is not allowed)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)]).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    yield mnt
    subprocess.run(["umount", str(mnt)])
