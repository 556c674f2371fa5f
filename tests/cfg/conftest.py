"""Fixtures of the harbor.cfg tests: Harbor's reference files and a throwaway MariaDB."""
from __future__ import annotations

import pytest

from migrator.errors import ServerUnavailable
from migrator.tools.local_server import LocalServer
from tests import reference_files

REFERENCE = reference_files.locate()


def reference_text(name: str) -> str:
    if REFERENCE.directory is None:
        pytest.skip(f"Harbor's reference files {REFERENCE.source} — python3 -m tests.reference_files fetch")
    path = REFERENCE.directory / "cfg" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: these tests compare with Harbor's own files ({REFERENCE.source})")
    return path.read_text(encoding="utf-8")


@pytest.fixture
def cfg_050() -> str:
    """Harbor 0.5.0's shipped harbor.cfg."""
    return reference_text("harbor-0.5.0.cfg")


@pytest.fixture
def cfg_152() -> str:
    """Harbor 1.5.2's shipped harbor.cfg."""
    return reference_text("harbor-1.5.2.cfg")


@pytest.fixture
def adminserver_env_152() -> str:
    return reference_text("adminserver-env-1.5.2")


@pytest.fixture(scope="session")
def cfg_server():
    """One throwaway MariaDB for the integration tests of this directory."""
    try:
        server = LocalServer().start()
    except ServerUnavailable as exc:
        pytest.skip(f"no local MariaDB/MySQL server: {exc}")
    yield server
    server.destroy()
