"""One conformance test that every rehearsal backend must pass (as golang-migrate's
drivers share one suite), plus each backend's documented edge behaviour."""
from __future__ import annotations

import datetime
import os
import pathlib
import socket
import tempfile

import pytest

from migrator.mysql.connection import connect
from migrator.errors import ConnectionFailed, ExitCode, ServerUnavailable, UsageError
from migrator.tools.rehearsal import BACKEND_NAMES, get_backend

SEED_SQL = ("CREATE TABLE seed_marker (note VARCHAR(64) NOT NULL) DEFAULT CHARSET=utf8mb4;\n"
            "INSERT INTO seed_marker VALUES ('seeded by init script');\n")
# What rehearse needs for a Harbor 0.5 database: MySQL 5.6's timestamp rules.
HARBOR_05_OPTIONS = {"explicit-defaults-for-timestamp": "OFF"}


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


def _backend_options(name: str, request: pytest.FixtureRequest, seed: pathlib.Path) -> dict:
    options: dict = {"server_options": dict(HARBOR_05_OPTIONS)}
    if name == "docker":
        options.update(image=request.getfixturevalue("docker_test_image"), init_scripts=[seed],
                       database="conformance_seed")
    else:
        request.getfixturevalue("local_binary")
    return options


def test_every_backend_is_covered():
    """A new backend must be added to the conformance parameters below."""
    assert set(BACKEND_NAMES) == {"local", "docker"}


@pytest.mark.parametrize("name", [
    pytest.param("local", marks=pytest.mark.integration),
    pytest.param("docker", marks=pytest.mark.docker),
])
def test_backend_conformance(name, request, tmp_path):
    seed = tmp_path / "01-seed.sql"
    seed.write_text(SEED_SQL)
    backend = get_backend(name, **_backend_options(name, request, seed))
    assert backend.name == name
    if not backend.supports_init_scripts:
        with pytest.raises(UsageError):  # refused, never silently ignored
            get_backend(name, init_scripts=[seed])

    settings = backend.start()
    try:
        assert (settings.user, settings.database, settings.host) == ("root", "", "127.0.0.1")
        assert _port_open(settings.port), "the server must listen on 127.0.0.1"
        with connect(settings) as db:
            assert db.scalar("SELECT CURRENT_USER()").startswith("root@")
            info = db.server_info()
            assert info.flavour in ("mariadb", "mysql")
            assert info.version_tuple >= (5, 5, 0)
            assert info.explicit_defaults_for_timestamp is False, "server options must reach the server"

            db.execute("CREATE DATABASE conformance CHARACTER SET utf8mb4")
            db.execute("CREATE TABLE conformance.people (id INT PRIMARY KEY, name VARCHAR(32) NOT NULL, "
                       "created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)")
            db.execute("INSERT INTO conformance.people (id, name) VALUES (1, %s)", ("张三",))
            name_back, created_at = db.query("SELECT name, created_at FROM conformance.people")[0]
            assert name_back == "张三"
            assert isinstance(created_at, datetime.datetime)

            if backend.supports_init_scripts:
                assert db.scalar("SELECT note FROM conformance_seed.seed_marker") == "seeded by init script"

        label = backend.server_label()
        assert "MariaDB" in label or "MySQL" in label
        hint = backend.connect_hint()
        assert str(settings.port) in hint or "--socket=" in hint
        if settings.password:
            assert settings.password not in hint
            assert settings.password not in label
            assert settings.password not in repr(settings)
    finally:
        backend.stop()
    backend.stop()  # idempotent

    assert not _port_open(settings.port), "stop() must take the server down"
    with pytest.raises(ConnectionFailed):
        connect(settings)


@pytest.mark.integration
def test_local_keep_leaves_the_server_running_with_a_removal_hint(local_binary):
    backend = get_backend("local", keep=True)
    settings = backend.start()
    server_dir = backend._server.dir
    try:
        backend.stop()
        assert _port_open(settings.port)
        hint = backend.connect_hint()
        assert "remove it with: kill " in hint
    finally:
        backend.keep = False
        backend.stop()
    assert not _port_open(settings.port)
    assert not server_dir.exists(), "the kept server's data directory goes with it"


def test_unknown_backend_or_option_is_a_usage_error():
    with pytest.raises(UsageError, match="use one of local, docker"):
        get_backend("podman")
    with pytest.raises(UsageError, match="does not take colour"):
        get_backend("local", colour="blue")
    with pytest.raises(UsageError, match="needs an image"):
        get_backend("docker")


def test_docker_without_an_engine_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    backend = get_backend("docker", image="mysql:5.6")
    with pytest.raises(ServerUnavailable) as err:
        backend.start()
    message = str(err.value)
    assert "\n" not in message
    assert "no Docker engine answers" in message and "docker-setup.sh" in message
    assert err.value.exit_code == ExitCode.SERVER_UNAVAILABLE
    backend.stop()  # nothing started: still fine


def _our_containers(client) -> list:
    return client.containers.list(all=True, filters={"label": "org.harbor-migrate.rehearsal"})


@pytest.mark.docker
def test_docker_missing_image_is_not_pulled(docker_test_image):
    import docker

    client = docker.from_env()
    missing = "harbor-migrate-no-such-image:0"
    before = len(_our_containers(client))
    with pytest.raises(ServerUnavailable, match=r"not in the local Docker engine: .*--pull") as err:
        get_backend("docker", image=missing).start()
    assert "\n" not in str(err.value)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(missing)
    assert len(_our_containers(client)) == before


@pytest.mark.docker
def test_docker_failed_start_reports_the_server_error_and_cleans_up(docker_test_image):
    import docker

    client = docker.from_env()
    before = len(_our_containers(client))
    backend = get_backend("docker", image=docker_test_image, server_options={"no-such-option": "1"},
                          startup_timeout=60)
    with pytest.raises(ServerUnavailable, match="unknown variable 'no-such-option=1'") as err:
        backend.start()
    assert "\n" not in str(err.value)
    assert len(_our_containers(client)) == before
    assert backend.connect_hint() == "the docker server is not running"


@pytest.mark.docker
def test_test_image_runs_sql_and_sh_init_scripts_in_order(docker_test_image, tmp_path):
    table = tmp_path / "a.sql"
    table.write_text("CREATE TABLE steps (n INT NOT NULL);\nINSERT INTO steps VALUES (1);\n")
    script = tmp_path / "b.sh"
    # Sourced like the official images do, with their docker_process_sql helper.
    script.write_text('echo "INSERT INTO steps VALUES (2);" | docker_process_sql --database="$MYSQL_DATABASE"\n')
    backend = get_backend("docker", image=docker_test_image, init_scripts=[table, script], database="ordered")
    settings = backend.start()
    try:
        with connect(settings.with_database("ordered")) as db:
            assert [r[0] for r in db.query("SELECT n FROM steps ORDER BY n")] == [1, 2]
    finally:
        backend.stop()


@pytest.mark.integration
def test_local_server_leaves_other_servers_temporary_tables_alone(local_binary):
    """A MariaDB starting up deletes every "#sql*" file in its tmpdir as its own leftovers: the
    rehearsal's server, on the database host, must not do that to the production server's
    temporary tables in the system temp directory (Debian's default tmpdir is /tmp)."""
    probe = pathlib.Path(tempfile.gettempdir()) / f"#sql-temptable-harbor-migrate-probe-{os.getpid()}.MAI"
    probe.write_bytes(b"")
    backend = get_backend("local")
    try:
        settings = backend.start()
        with connect(settings) as db:
            tmpdir = db.scalar("SELECT @@tmpdir")
        assert probe.exists(), "starting the rehearsal's server deleted another server's temporary table file"
        assert pathlib.Path(tmpdir).resolve() != pathlib.Path(tempfile.gettempdir()).resolve()
    finally:
        backend.stop()
        probe.unlink(missing_ok=True)
