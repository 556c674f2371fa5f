"""The Docker pieces that cannot all run here (no Docker Hub): checked statically, and
the CI helper's stdout discipline (it is eval'd) checked for real."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess

import pytest

from migrator.settings import parse_dsn

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPTS = ["docker/build-test-image.sh", "docker/test-image/entrypoint.sh", ".ci/docker-setup.sh"]


@pytest.fixture(scope="module")
def compose() -> dict:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: pip install pyyaml")
    return yaml.safe_load((ROOT / "docker/compose.yml").read_text())


def test_compose_runs_mysql_56_as_harbor_05_did(compose):
    mysql = compose["services"]["mysql"]
    assert mysql["image"] == "mysql:5.6"
    assert "--explicit-defaults-for-timestamp=OFF" in mysql["command"]
    assert "--sql-mode=NO_ENGINE_SUBSTITUTION" in mysql["command"]
    assert mysql["environment"]["MYSQL_DATABASE"] == "registry"
    assert mysql["environment"]["MYSQL_ROOT_PASSWORD_FILE"] == "/run/secrets/db_root_password"
    assert "./seed:/docker-entrypoint-initdb.d:ro" in mysql["volumes"]
    assert all(p.startswith("127.0.0.1:") for p in mysql["ports"]), "publish on loopback only"
    # TCP, so the check fails while the init-time server runs without networking.
    assert "-h 127.0.0.1" in " ".join(mysql["healthcheck"]["test"])


def test_compose_has_a_registry_and_the_tool(compose):
    services = compose["services"]
    assert services["registry"]["image"] == "registry:2"
    tool = services["harbor-migrate"]
    assert tool["build"] == {"context": "..", "dockerfile": "docker/Dockerfile"}
    assert (ROOT / "docker" / tool["build"]["context"] / tool["build"]["dockerfile"]).is_file()
    assert tool["depends_on"]["mysql"]["condition"] == "service_healthy"


def test_compose_passes_the_password_by_file_never_in_env_or_argv(compose):
    tool = compose["services"]["harbor-migrate"]
    env = tool["environment"]
    dsn = parse_dsn(env["HARBOR_MIGRATE_DSN"])
    assert "password" not in dsn and dsn["host"] == "mysql" and dsn["database"] == "registry"
    assert env["HARBOR_MIGRATE_PASSWORD_FILE"] == "/run/secrets/db_root_password"
    assert "db_root_password" in tool["secrets"]
    assert compose["secrets"]["db_root_password"]["file"] == "./secrets/db-root-password"
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert not re.search(r"PASSWORD$|PWD$", key), f"{name}: {key} puts a secret in the environment"
        assert "password" not in " ".join(map(str, service.get("command") or [])).lower()


def test_secret_and_seed_dirs_are_git_ignored():
    for d in ("secrets", "seed"):
        lines = (ROOT / "docker" / d / ".gitignore").read_text().splitlines()
        assert "*" in lines


def test_dockerfile_is_small_non_root_with_the_cli_as_entrypoint():
    text = (ROOT / "docker/Dockerfile").read_text()
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in text
    assert len(re.findall(r"^FROM ", text, re.M)) == 2, "multi-stage: wheels built, then installed"
    assert "--no-cache-dir" in text
    assert re.search(r"^USER 10001", text, re.M)
    assert 'ENTRYPOINT ["harbor-migrate"]' in text
    assert "mariadb-client" in text, "snapshot, restore and verify run mariadb-dump / mariadb"
    ignore = (ROOT / "docker/Dockerfile.dockerignore").read_text().splitlines()
    for private in (".git", "*.sql.zst", "*.manifest.json", "docker/secrets", "docker/seed"):
        assert private in ignore


@pytest.mark.parametrize("script", SCRIPTS)
def test_shell_scripts_parse(script):
    path = ROOT / script
    assert path.read_text().startswith("#!/bin/bash\n")
    res = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_docker_setup_stop_prints_only_shell_for_eval(tmp_path):
    """`eval "$(bash .ci/docker-setup.sh --stop)"` must get shell, never logs."""
    env = {**os.environ, "HARBOR_MIGRATE_DOCKER_DIR": str(tmp_path / "engine")}
    res = subprocess.run(["bash", str(ROOT / ".ci/docker-setup.sh"), "--stop"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [
        "unset DOCKER_HOST TESTCONTAINERS_RYUK_DISABLED TC_HOST TESTCONTAINERS_CONNECTION_MODE "
        "HARBOR_MIGRATE_TEST_IMAGE HARBOR_MIGRATE_TEST_REQUIRE_DOCKER"]
    assert "no dockerd of ours is running" in res.stderr
