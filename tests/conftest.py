"""Fixtures: throwaway MariaDB servers (local binary), fresh databases, reference files.

Servers are started once per session per timestamp mode (about 1 s each) and
torn down after; each test gets its own database on them. Tests that need
Harbor's reference files skip with a reason when tests/reference_files.py finds
none. The Docker tests use $DOCKER_HOST, or start an engine with
.ci/docker-setup.sh when dockerd is installed (and stop it after, if they
started it). The run begins with one line per group of tests that will skip,
with the reason and how to enable it (docs/testing.md).
"""
from __future__ import annotations

import itertools
import os
import pathlib
import re
import shlex
import shutil
import subprocess

import pytest

from migrator.mysql.connection import connect
from migrator.tools.local_server import LocalServer, find_binary
from tests import reference_files

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE_LOCATION = reference_files.locate()
REFERENCE = REFERENCE_LOCATION.directory
DOCKER_SETUP = ROOT / ".ci" / "docker-setup.sh"
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


def reference_unavailable() -> str | None:
    """Why the tests comparing with Harbor's own files skip, with how to enable them; None: they run."""
    how = "python3 -m tests.reference_files fetch, or HARBOR_REFERENCE_DIR=DIR (docs/testing.md)"
    if REFERENCE is None:
        return f"Harbor's reference files {REFERENCE_LOCATION.source} — {how}"
    if not (REFERENCE / reference_files.MARKER).exists():
        return f"Harbor's reference files are not in {REFERENCE} ({REFERENCE_LOCATION.source}) — {how}"
    return None


@pytest.fixture(scope="session")
def reference() -> pathlib.Path:
    reason = reference_unavailable()
    if reason:
        pytest.skip(reason)
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


# -- the Docker engine -------------------------------------------------------------------
class DockerEngine:
    """The engine the docker tests use: ``host`` or, when there is none, ``reason`` (with the fix)."""

    def __init__(self, host: str | None, reason: str = ""):
        self.host, self.reason = host, reason


def docker_unavailable() -> str | None:
    """Why the docker tests skip on this machine, with how to enable them; None: they run.

    Only a missing dockerd (or root to run it, or the opt-out) skips them: when dockerd is
    installed the tests start it, and a setup that then fails is a failure, not a skip.
    """
    if os.environ.get("HARBOR_MIGRATE_TEST_DOCKER") == "0":
        return "HARBOR_MIGRATE_TEST_DOCKER=0 — unset it to run them"
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker SDK is not installed — pip install -e '.[test]'"
    if os.environ.get("DOCKER_HOST"):
        return None
    if not shutil.which("dockerd"):
        return ("dockerd is not installed — apt-get install docker.io debootstrap (the tests then start it), "
                "or export DOCKER_HOST of an engine that has the test image")
    if os.geteuid() != 0:
        return ('dockerd needs root and this run is not root — run the tests as root, or as root '
                'eval "$(bash .ci/docker-setup.sh)" and export its DOCKER_HOST here')
    return None


def _engine_answers(host: str) -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], env={**os.environ, "DOCKER_HOST": host},
                          capture_output=True, timeout=30).returncode == 0


def _live_dockerd(pidfile: pathlib.Path) -> bool:
    """The pid file names a running dockerd (docker-setup.sh's own test)."""
    try:
        pid = int(pidfile.read_text().strip())
        return pathlib.Path(f"/proc/{pid}/comm").read_text().strip() == "dockerd"
    except (OSError, ValueError):
        return False


def _say(request, line: str) -> None:
    """A line on the terminal from inside a fixture, where output is otherwise captured."""
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line(line)


@pytest.fixture(scope="session")
def docker_engine(request):
    """$DOCKER_HOST as given; else, with dockerd installed, the engine .ci/docker-setup.sh starts
    (or reuses), its exports applied to os.environ for the session.

    The engine is stopped at the end only when this session started it and no other test
    session still uses it: each session holds a shared lock on a file beside the engine while
    it runs, and the starter stops the engine only if it then gets that lock exclusively.
    """
    import fcntl

    reason = docker_unavailable()
    if reason:
        yield DockerEngine(None, reason)
        return
    if os.environ.get("DOCKER_HOST"):
        yield DockerEngine(os.environ["DOCKER_HOST"])
        return
    # docker-setup.sh's own default directory: socket, pid file, data root.
    engine_dir = pathlib.Path(os.environ.get("HARBOR_MIGRATE_DOCKER_DIR", "/tmp/hm-docker"))
    engine_dir.mkdir(parents=True, exist_ok=True)
    users = open(engine_dir / "test-sessions.lock", "w")
    fcntl.flock(users, fcntl.LOCK_SH)
    started_here = not _live_dockerd(engine_dir / "dockerd.pid") and not _engine_answers(
        f"unix://{engine_dir}/docker.sock")
    _say(request, f"\nharbor-migrate: {'starting' if started_here else 'reusing'} a Docker engine with "
                  f".ci/docker-setup.sh (the first time it also builds the test image, about a minute)")
    proc = subprocess.run(["bash", str(DOCKER_SETUP)], capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        users.close()
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        pytest.fail(f".ci/docker-setup.sh failed (exit {proc.returncode}): {tail} — fix it, or skip the docker "
                    f"tests with HARBOR_MIGRATE_TEST_DOCKER=0", pytrace=False)
    exports = dict(shlex.split(line)[1].split("=", 1) for line in proc.stdout.splitlines()
                   if line.startswith("export "))
    saved = {k: os.environ.get(k) for k in exports}
    os.environ.update(exports)
    try:
        yield DockerEngine(exports["DOCKER_HOST"])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        try:
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            alone = True
        except OSError:
            alone = False
        if started_here and alone:
            stop = subprocess.run(["bash", str(DOCKER_SETUP), "--stop"], capture_output=True, text=True, timeout=120)
            if stop.returncode != 0:
                import warnings
                warnings.warn(f".ci/docker-setup.sh --stop failed: {stop.stderr.strip()[-300:]}")
        users.close()


# -- what will skip, said once at the start -----------------------------------------------------
def skipped_groups() -> list[tuple[str, str]]:
    """(group, reason — how to enable it) for every group of tests that will skip on this machine."""
    groups = [("Harbor reference files", reference_unavailable()),
              ("Docker rehearsals", docker_unavailable())]
    if not find_binary(["mariadbd", "mysqld"]):
        groups.append(("MariaDB integration tests", "no mariadbd/mysqld — apt-get install mariadb-server"))
    # tests/http/registry_harness.py's REGISTRY_BIN, read the same way.
    registry = os.environ.get("DOCKER_REGISTRY_BIN", "/usr/bin/docker-registry")
    if not os.access(registry, os.X_OK):
        groups.append(("registry tests", f"{registry} not found — apt-get install docker-registry"))
    try:
        import yaml  # noqa: F401
    except ImportError:
        groups.append(("compose-file checks", "PyYAML is not installed — pip install -e '.[test]'"))
    if os.geteuid() != 0:
        groups.append(("no-space tests", "mounting their small tmpfs needs root — run the tests as root"))
    return [(name, reason) for name, reason in groups if reason]


def _skip_lines() -> list[str]:
    return [f"harbor-migrate: SKIP {name}: {reason}" for name, reason in skipped_groups()]


def pytest_report_header(config):
    return _skip_lines()


def pytest_sessionstart(session):
    # -q hides the report header; the lines are then written here instead, so every run shows them.
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and session.config.get_verbosity() < 0:
        for line in _skip_lines():
            reporter.write_line(line)
