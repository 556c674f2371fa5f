"""The ``docker`` backend: a throwaway server in a container of the user's chosen image.

Any image honouring the official mysql/mariadb contract works: ``MYSQL_ROOT_PASSWORD``,
``MYSQL_DATABASE``, ``/docker-entrypoint-initdb.d``, server options as arguments, and
"ready for connections ... port: 3306" in the log. That is ``mysql:5.6`` … ``mysql:8.0``
and ``mariadb:10.x`` on a user's machine, and the registry-free
``harbor-migrate-test-mariadb:10.11`` (docker/build-test-image.sh) in CI.

The engine comes from ``DOCKER_HOST`` (read by the Docker SDK and testcontainers, not
by us). The root password is random per run, lives in a 0600 file and is never printed.
Images are never pulled unless ``pull=True`` (``--pull``).
"""
from __future__ import annotations

import contextlib
import logging
import os
import pathlib
import re
import secrets
import shutil
import tempfile
import time
from typing import Any, Iterable

from ...common.files import write_private
from ...mysql.connection import connect, connect_server
from ...errors import AuthFailed, MigratorError, ServerUnavailable, UsageError
from ...settings import ConnectionSettings
from .backends import Backend

try:  # optional dependency: only start() needs it, and says so when it is missing
    from testcontainers.core.waiting_utils import WaitStrategy as _WaitStrategy
except ImportError:  # pragma: no cover
    _WaitStrategy = object

log = logging.getLogger(__name__)

PORT = 3306
INITDB_DIR = "/docker-entrypoint-initdb.d"
LABEL = "org.harbor-migrate.rehearsal"
# The real server's line, not the init-time server's (that one says "port: 0"), and not
# MySQL 8's X plugin ("port: 33060").
READY_PATTERN = re.compile(r"ready for connections[\s\S]*?port: 3306(?!\d)")
_ENGINE_FIX = ("start Docker and point DOCKER_HOST at it (CI: eval \"$(bash .ci/docker-setup.sh)\"), "
               "or use the local backend")


def _last_error_line(text: str) -> str:
    """The server's own last ``[ERROR]`` line explains a failed start better than ours."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    server_errors = [ln for ln in lines if "[ERROR]" in ln and not ln.endswith("Aborting")]
    errors = [ln for ln in lines if "ERROR" in ln.upper()]
    return (server_errors or errors or lines or ["(no log)"])[-1][:300]


class DockerBackend(Backend):
    """One container of ``image`` with 3306 published on 127.0.0.1 at a free port."""

    name = "docker"
    supports_init_scripts = True

    def __init__(self, image: str | None = None, server_options: dict[str, str] | None = None,
                 init_scripts: Iterable[str | os.PathLike[str]] = (), database: str | None = None,
                 pull: bool = False, keep: bool = False, startup_timeout: float = 180.0,
                 poll_interval: float = 0.25):
        if not image:
            raise UsageError("the docker backend needs an image: pass --image "
                             "(default_image_for() picks the production server's)")
        self.image = image
        self.server_options = dict(server_options or {})
        self.init_scripts = [pathlib.Path(p) for p in init_scripts]
        for script in self.init_scripts:
            if not script.is_file():
                raise UsageError(f"init script {script} does not exist: check the path")
            if not script.name.endswith((".sql", ".sh", ".sql.gz")):
                raise UsageError(f"init script {script} is not .sql, .sql.gz or .sh: the image would ignore it")
        self.database = database
        self.pull = pull
        self.keep = keep
        self.startup_timeout = startup_timeout
        self.poll_interval = poll_interval
        self._container: Any = None
        self._name: str | None = None
        self._workdir: pathlib.Path | None = None
        self._settings: ConnectionSettings | None = None
        self._label: str | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> ConnectionSettings:
        if self._container is not None:
            raise UsageError("this docker backend is already started: stop() it first")
        DockerContainer, waits = _testcontainers()
        client = self._engine()
        self._ensure_image(client)
        self._ensure_reaper(client)

        self._workdir = pathlib.Path(tempfile.mkdtemp(prefix="harbor-migrate-docker-"))
        password = secrets.token_urlsafe(24)
        password_file = self._workdir / "root-password"
        write_private(password_file, password, exclusive=True)

        name = self._name = f"harbor-migrate-rehearsal-{secrets.token_hex(4)}"
        container = DockerContainer(self.image).with_name(name)
        container.with_env("MYSQL_ROOT_PASSWORD", password)
        if self.database:
            container.with_env("MYSQL_DATABASE", self.database)
        # Published on loopback only: a tuple (ip,) asks the engine for a free host port there.
        container.ports[f"{PORT}/tcp"] = ("127.0.0.1",)
        if self.server_options:
            container.with_command([f"--{k}={v}" for k, v in self.server_options.items()])
        for index, script in enumerate(self.init_scripts):
            # Copied, not bind-mounted: no host permissions or SELinux labels to get right;
            # the numeric prefix keeps the caller's order (the entrypoint runs them sorted).
            container.with_copy_into_container(script, f"{INITDB_DIR}/{index:02d}-{script.name}", 0o644)
        container.with_kwargs(labels={LABEL: "1"})
        container.waiting_for(
            waits.CompositeWaitStrategy(waits.LogMessageWaitStrategy(READY_PATTERN),
                                        _RootLogin(self._settings_for, password))
            .with_startup_timeout(self.startup_timeout)
            .with_poll_interval(self.poll_interval))
        self._container = container
        try:
            container.start()
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line with a fix
            raise self._start_failure(exc) from None
        self._settings = self._settings_for(container, password)
        with contextlib.suppress(MigratorError), connect(self._settings) as db:
            self._label = f"{db.server_info().label} (docker {self.image})"
        return self._settings

    def stop(self) -> None:
        if self.keep:
            return  # left running on purpose; connect_hint() says how to remove it
        container, self._container = self._container, None
        if container is not None and container._container is not None:
            with contextlib.suppress(Exception):  # already gone is fine: stop is idempotent
                container.stop(force=True, delete_volume=True)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._settings = None

    # -- information -----------------------------------------------------------------
    def connect_hint(self) -> str:
        if self._settings is None or self._workdir is None or self._container is None:
            return "the docker server is not running"
        name = self._name
        return (f"MYSQL_PWD=\"$(cat {self._workdir / 'root-password'})\" "
                f"mysql -h 127.0.0.1 -P {self._settings.port} -u root\n"
                f"or: docker exec -it {name} sh -c 'MYSQL_PWD=\"$MYSQL_ROOT_PASSWORD\" mysql -uroot'\n"
                f"remove it with: docker rm -f -v {name} && rm -rf {self._workdir}")

    def server_label(self) -> str:
        return self._label or f"docker {self.image}"

    # -- helpers ---------------------------------------------------------------------
    @staticmethod
    def _settings_for(container: Any, password: str) -> ConnectionSettings:
        # Ask the engine for the mapping ourselves: testcontainers' get_exposed_port()
        # answers 3306 in bridge mode, which is wrong for a loopback-published port.
        port = int(container.get_docker_client().port(container.get_container_id(), PORT))
        return ConnectionSettings(host="127.0.0.1", port=port, user="root", password=password,
                                  database="", connect_timeout=5)

    def _engine(self) -> Any:
        import docker  # the Docker SDK, a dependency of testcontainers

        try:
            client = docker.from_env()
            client.ping()
        except Exception as exc:  # noqa: BLE001
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise ServerUnavailable(f"no Docker engine answers ({reason}): {_ENGINE_FIX}") from None
        return client

    def _ensure_image(self, client: Any) -> None:
        import docker.errors

        try:
            client.images.get(self.image)
            return
        except docker.errors.ImageNotFound:
            pass
        if not self.pull:
            raise ServerUnavailable(
                f"image {self.image} is not in the local Docker engine: `docker pull {self.image}`, "
                "pass --pull, or use the registry-free test image (docker/build-test-image.sh)")
        log.info("pulling %s", self.image)
        try:
            client.images.pull(self.image)
        except Exception as exc:  # noqa: BLE001
            raise ServerUnavailable(f"cannot pull {self.image} ({str(exc).splitlines()[0][:160]}): "
                                    "check the image name and registry access, or pull it yourself") from None

    def _ensure_reaper(self, client: Any) -> None:
        """Ryuk (testcontainers' reaper) is a safety net we can live without; never pull it unasked."""
        from testcontainers.core.config import testcontainers_config as tc

        if tc.ryuk_disabled or self.pull:
            return
        try:
            client.images.get(tc.ryuk_image)
        except Exception:  # noqa: BLE001 - absent: run without it, stop() still removes the container
            log.info("reaper image %s absent and --pull not given: running without it", tc.ryuk_image)
            tc.ryuk_disabled = True

    def _start_failure(self, exc: Exception) -> ServerUnavailable:
        logs = ""
        with contextlib.suppress(Exception):
            out, err = self._container.get_logs()
            logs = (out + err).decode(errors="replace")
        detail = _last_error_line(logs) if logs else str(exc).splitlines()[0][:200]
        kept = self.keep
        if not kept:
            self.stop()
        if isinstance(exc, TimeoutError):
            what = f"did not become ready within {self.startup_timeout:.0f}s"
        elif isinstance(exc, _LoginRefused):
            what = "refused the root login (the image does not honour MYSQL_ROOT_PASSWORD?)"
        else:
            what = "failed to start"
        return ServerUnavailable(f"the {self.image} container {what}: {detail} — check the image "
                                 "and --server-option values" + (" (container kept)" if kept else ""))


class _LoginRefused(Exception):
    pass


class _RootLogin(_WaitStrategy):  # type: ignore[misc, valid-type]
    """Ready means a real root login over the published port, not an open port:
    the engine's proxy accepts connections before the server inside listens."""

    def __init__(self, settings_for: Any, password: str):
        super().__init__()
        self._settings_for = settings_for
        self._password = password

    def wait_until_ready(self, container: Any) -> None:
        deadline = time.monotonic() + self._startup_timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                settings = self._settings_for(container, self._password)
                connect_server(settings).close()
                return
            except AuthFailed as exc:  # the server answers, and says no: waiting will not help
                raise _LoginRefused(str(exc)) from None
            except (MigratorError, OSError) as exc:  # not up yet (OSError: asking the engine for the port)
                last = exc
            container.reload()
            if container.status not in ("created", "running", "restarting"):
                raise RuntimeError(f"the container exited ({container.status})")
            time.sleep(self._poll_interval)
        raise TimeoutError(f"root login did not succeed: {last}")


def _testcontainers() -> tuple[Any, Any]:
    try:
        from testcontainers.core import wait_strategies
        from testcontainers.core.container import DockerContainer
    except ImportError:
        raise ServerUnavailable("the docker backend needs testcontainers: "
                                "pip install 'harbor-migrate[docker]', or use the local backend") from None
    return DockerContainer, wait_strategies
