"""Fixtures for the HTTP side of ``verify``: a real registry, in-process Harbor fakes, a throwaway MariaDB.

A missing ``docker-registry`` or MariaDB binary skips the tests that need it,
with the package to install; nothing passes silently.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import harbor_fakes  # noqa: E402
import harbor_seed  # noqa: E402
import registry_harness as rh  # noqa: E402

from migrator.mysql import connection as dbmod  # noqa: E402
from migrator.errors import ServerUnavailable  # noqa: E402
from migrator.tools.local_server import LocalServer  # noqa: E402

from harbor_seed import ADMIN, DEVELOPER  # noqa: E402


# -- MariaDB ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def http_mariadb():
    try:
        server = LocalServer()
    except ServerUnavailable as exc:
        pytest.skip(f"{exc.message}")
    server.start()
    try:
        yield server
    finally:
        server.destroy()


_db_names = itertools.count()


@pytest.fixture
def empty_db(http_mariadb):
    """A fresh, empty database on the session's server."""
    name = f"hv_{next(_db_names)}"
    http_mariadb.create_database(name)
    db = dbmod.connect(http_mariadb.settings(name))
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def harbor_db(empty_db):
    """The standard planted Harbor 1.5.2 rows (harbor_seed.seed_standard)."""
    harbor_seed.seed_standard(empty_db)
    return empty_db


# -- the real registry ------------------------------------------------------------------------
@pytest.fixture(scope="session")
def registry_bin():
    if not rh.registry_available():
        pytest.skip(f"{rh.REGISTRY_BIN} not found: install Debian's docker-registry package "
                    "(apt-get install docker-registry) to run the registry tests")
    return rh.REGISTRY_BIN


@pytest.fixture(scope="session")
def token_issuer():
    issuer = rh.TokenIssuer(rh.SigningKey(), {ADMIN[0]: (ADMIN[1], True), DEVELOPER[0]: (DEVELOPER[1], False)})
    issuer.start()
    yield issuer
    issuer.stop()


@pytest.fixture(scope="session")
def planted_registry(registry_bin, token_issuer, tmp_path_factory):
    """A token-auth registry holding harbor_seed's planted repositories."""
    reg = rh.LocalRegistry(token_issuer.key, token_issuer.url, base_dir=str(tmp_path_factory.mktemp("reg")))
    reg.start()
    try:
        pusher = rh.Pusher(reg.url, token_issuer)
        for name, tags in harbor_seed.REGISTRY_TAGGED.items():
            pusher.push(name, tags)
        for name in harbor_seed.REGISTRY_EMPTIED:
            pusher.push(name, ["gone"])
            pusher.delete_manifest(name)
        for name in harbor_seed.REGISTRY_LAYERS_ONLY:
            pusher.blob_only(name)
        yield reg
    finally:
        reg.destroy()


@pytest.fixture
def open_registry(registry_bin, tmp_path):
    """A registry without any auth, holding two repositories."""
    reg = rh.LocalRegistry(base_dir=str(tmp_path))
    reg.start()
    try:
        pusher = rh.Pusher(reg.url, seed_repo="library/alpine")
        pusher.push("library/alpine", ["latest"])
        pusher.push("library/busybox", ["1", "2"])
        yield reg
    finally:
        reg.destroy()


# -- in-process fakes -----------------------------------------------------------------------
@pytest.fixture
def serve():
    """``serve(handler, **server_attrs)`` → (base_url, server); stopped after the test."""
    stack = contextlib.ExitStack()

    def start(handler, **attrs):
        return stack.enter_context(rh.serve(handler, **harbor_fakes.fake_server_attrs(**attrs)))

    with stack:
        yield start


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens."""
    return f"http://127.0.0.1:{rh.free_port()}"


@pytest.fixture
def directory_server(serve, tmp_path):
    (tmp_path / "index.html").write_text("<html>just files</html>")
    return serve(functools.partial(harbor_fakes.DirectoryHandler, directory=str(tmp_path)))[0]
