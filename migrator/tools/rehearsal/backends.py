"""The one small interface every throwaway server for ``rehearse`` implements.

``rehearse`` restores a snapshot into a server it owns, upgrades and verifies it
there, and throws the server away; it must not care whether that server is a local
``mariadbd`` or a container. Every backend passes the same conformance test
(tests/rehearsal/test_backend_conformance.py), as golang-migrate's drivers do.
"""
from __future__ import annotations

import abc
import importlib
import inspect
from typing import Any, ClassVar

from ...errors import UsageError
from ...settings import ConnectionSettings

#: The image docker/build-test-image.sh builds without any registry (CI and these machines).
TEST_IMAGE = "harbor-migrate-test-mariadb:10.11"

#: Backend name -> "module:class", imported lazily so ``local`` never needs testcontainers.
_BACKENDS = {
    "local": "migrator.tools.rehearsal.local:LocalBackend",
    "docker": "migrator.tools.rehearsal.docker:DockerBackend",
}
BACKEND_NAMES = tuple(_BACKENDS)


class Backend(abc.ABC):
    """A throwaway MySQL/MariaDB server: start it, reach it as root, throw it away.

    Contract (checked by the conformance test):

    - ``start()`` returns root settings with no particular database (``database=""``)
      once a real login succeeds: a wait strategy, never a fixed sleep.
    - ``stop()`` is idempotent and removes the server and everything it created, unless
      the backend was made with ``keep=True`` (``rehearse --keep``): then the server is
      left running for a human, and ``connect_hint()`` says how to reach and remove it.
    - ``connect_hint()`` never contains a password in clear.
    - Servers listen on 127.0.0.1 only.
    """

    name: ClassVar[str]
    #: Whether ``init_scripts`` (``*.sql``/``*.sh`` run once at first start) are honoured.
    supports_init_scripts: ClassVar[bool] = False

    @abc.abstractmethod
    def start(self) -> ConnectionSettings:
        """Start the server and return root settings once a login succeeds."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Remove the server and its data (a no-op the second time, or with keep)."""

    @abc.abstractmethod
    def connect_hint(self) -> str:
        """How a human connects (and removes a kept server); never a password in clear."""

    @abc.abstractmethod
    def server_label(self) -> str:
        """Short human name of the server, e.g. ``MariaDB 10.11.6 (docker mariadb:10.11)``."""

    def __enter__(self) -> ConnectionSettings:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()


def get_backend(name: str, **options: Any) -> Backend:
    """Make the backend ``name`` with its options; unknown names or options are usage errors."""
    target = _BACKENDS.get(name)
    if target is None:
        raise UsageError(f"unknown rehearsal backend {name!r}: use one of {', '.join(BACKEND_NAMES)}")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise UsageError(f"the {name} backend does not take {', '.join(unknown)}: "
                         f"it takes {', '.join(sorted(accepted))}")
    return cls(**options)


def default_image_for(flavour: str, version: tuple[int, ...], override: str | None = None) -> str:
    """The official image closest to the production server, e.g. ``mysql:5.6``.

    Rehearsing on the production major.minor is what makes the rehearsal worth
    anything (implicit TIMESTAMP defaults, RENAME COLUMN, utf8mb4 limits all differ
    between minors); ``override`` (``--image``) wins, e.g. for a local mirror.
    """
    if override:
        return override
    kind = (flavour or "").strip().lower()
    if kind not in ("mysql", "mariadb"):
        raise UsageError(f"no default image for a {flavour!r} server: pass --image (e.g. mysql:5.7)")
    if len(version) < 2:
        raise UsageError(f"cannot pick an image from the version {version!r}: pass --image")
    major, minor = int(version[0]), int(version[1])
    if kind == "mysql" and (major, minor) < (5, 5):
        raise UsageError(f"MySQL {major}.{minor} has no official image and is older than Harbor "
                         "supports: upgrade the server to 5.6+ or pass --image")
    if kind == "mariadb" and major < 10 and (major, minor) != (5, 5):
        raise UsageError(f"MariaDB {major}.{minor} has no official image: pass --image")
    return f"{kind}:{major}.{minor}"
