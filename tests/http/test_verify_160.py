"""``verify --target-dsn`` with the 1.6.0 services: a moved database (real MariaDB → real PostgreSQL)
against the 1.6.0 fakes (adminserver, core API; swagger-1.6.0, adminserver-env-1.6.0) and a real
docker-registry holding its repositories.

The source is our 0.5.0 seed at 1.5.0, less the repository row of the deleted project
``old#4`` (not a valid registry name): Harbor's first 1.5.2 start would have deleted that
row already (harbor-facts §6), and a Harbor at 1.6.0 keeps no such row either.
"""
from __future__ import annotations

import os

import pytest

import harbor_fakes as hf
import registry_harness as rh
from migrator.errors import ExitCode
from migrator.move.copy import move_database
from migrator.mysql.connection import connect
from migrator.verdicts import Verdict
from tests.helpers import run_cli, seeded_head
from tests.postgres.conftest import local_pg, pg_dbs  # noqa: F401  (fixtures)

pytestmark = pytest.mark.integration

SECRET, ADMIN_PW = "ui-secret-160", "Harbor12345-160"
TAGGED = ("library/busybox", "private-team/api", "public-apps/web")


@pytest.fixture(scope="module")
def source(server_off):
    name = f"v160_src_{os.getpid()}"
    settings = seeded_head(server_off, name)
    with connect(settings) as db:
        db.execute("DELETE FROM repository WHERE name = 'old#4/legacy'")
    yield settings
    server_off.admin(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def moved(source, pg_dbs):
    """(source settings, target PgSettings): the source moved into a fresh PostgreSQL database."""
    target = pg_dbs.pg.superuser_settings(pg_dbs.create("v160"))
    move_database(source, target)
    return source, target


def _registry(registry_bin, base_dir, repos):
    base_dir.mkdir()
    reg = rh.LocalRegistry(base_dir=str(base_dir))
    reg.start()
    pusher = rh.Pusher(reg.url, seed_repo=repos[0])
    for repo in repos:
        pusher.push(repo, ["latest"])
    return reg


@pytest.fixture
def services(moved, serve, registry_bin, tmp_path):
    """start(config=…, version=…, repos=…) → the CLI's arguments and env for the three sections."""
    source, target = moved
    registries = []

    def start(config=None, version=None, repos=TAGGED):
        admin_url, _ = serve(hf.AdminserverHandler, secrets={SECRET},
                             config=config or hf.adminserver_config_160(target))
        from migrator.postgres.connection import connect_pg
        with connect_pg(target) as pg:
            state = hf.CoreState.from_pg(pg)
        state.users["admin"]["password"] = ADMIN_PW
        if version is not None:
            state.version = version
        core_url, _ = serve(hf.CoreApiHandler, state=state, release="1.6.0")
        reg = _registry(registry_bin, tmp_path / f"reg{len(registries)}", list(repos))
        registries.append(reg)
        args = ["verify", "--socket", source.unix_socket, "--user", source.user, "--database", source.database,
                "--target-dsn", target.dsn(), "--adminserver", admin_url, "--registry", reg.url,
                "--harbor", core_url]
        env = {"HARBOR_MIGRATE_ADMINSERVER_SECRET": SECRET, "HARBOR_MIGRATE_HARBOR_PASSWORD": ADMIN_PW}
        return args, env

    yield start
    for reg in registries:
        reg.destroy()


def _verify(args, env):
    code, out, err = run_cli(args + ["--json"], env=env)
    import json
    return code, json.loads(out), err


def _checks(report) -> dict:
    return {c["name"]: c for checks in report["sections"].values() for c in checks}


def test_moved_database_is_consistent_with_the_160_services(services):
    code, report, err = _verify(*services())
    checks = _checks(report)
    assert code == 0 and report["ok"], [(n, c["status"], c["message"]) for n, c in checks.items()
                                        if c["status"] != "ok"]
    assert set(report["sections"]) == {"schema", "data", "adminserver", "registry", "harbor"}
    assert checks["adminserver.database"]["message"].startswith("the adminserver uses postgres@127.0.0.1:")
    assert checks["adminserver.settings"]["message"].endswith("settings valid for 1.6.0")
    assert checks["harbor.systeminfo"]["message"].startswith("Harbor v1.6.0")
    assert checks["harbor.repositories"]["data"] == {"repositories": 3}
    assert checks["registry.catalog"]["data"]["matched"] == 3
    assert "PLAIN-" not in str(report) and ADMIN_PW not in str(report)


def test_adminserver_pointing_at_another_database_fails_naming_it(services, moved):
    _, target = moved
    config = hf.adminserver_config_160(target, postgresql_host="db.elsewhere.example", postgresql_port=6543)
    code, report, _ = _verify(*services(config=config))
    c = _checks(report)["adminserver.database"]
    assert code == ExitCode.VERIFY_FAILED and c["status"] == "fail"
    assert any("db.elsewhere.example" in d for d in c["details"]), c
    assert any("postgresql_port: adminserver 6543" in d for d in c["details"]), c
    assert "POSTGRESQL_*" in c["message"]


def test_adminserver_still_on_mysql_fails(services, moved):
    _, target = moved
    config = hf.adminserver_config_160(target, database_type="mysql")
    code, report, _ = _verify(*services(config=config))
    c = _checks(report)["adminserver.database"]
    assert c["status"] == "fail" and "database_type: adminserver 'mysql', expected 'postgresql'" in c["details"]


def test_repository_missing_from_the_registry_is_named(services):
    code, report, _ = _verify(*services(repos=TAGGED[:2]))
    c = _checks(report)["registry.only_in_database"]
    assert code == ExitCode.VERIFY_FAILED and c["status"] == "fail"
    assert c["details"] == ["public-apps/web (not in the registry catalog)"]


def test_core_reporting_152_fails(services):
    code, report, _ = _verify(*services(version="v1.5.2-829ed2a6"))
    c = _checks(report)["harbor.systeminfo"]
    assert code == ExitCode.VERIFY_FAILED and c["status"] == "fail"
    assert "'v1.5.2-829ed2a6', expected v1.6.x" in c["message"]


def test_core_with_empty_version_cannot_confirm(services):
    code, report, _ = _verify(*services(version=""))
    c = _checks(report)["harbor.systeminfo"]
    assert code == 0 and c["status"] == "warn" and "cannot confirm it is v1.6.x" in c["message"]
