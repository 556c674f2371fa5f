"""`harbor-migrate verify` end to end: the database plus the real registry and the adminserver fake,
secrets from a file and the environment (never argv), one report, one exit code."""
from __future__ import annotations

import json

import pytest

import harbor_fakes as hf
from harbor_seed import ADMIN
from migrator.errors import ExitCode
from tests.helpers import run_cli

pytestmark = [pytest.mark.integration, pytest.mark.registry]
SECRET = "Ab3dE6gH9jK2mN5p"


def _dsn(server, db):
    return f"mysql://root@localhost/{db.name}?unix_socket={server.socket}"


def test_verify_cli_with_registry_and_adminserver(http_mariadb, harbor_db, planted_registry, serve, tmp_path):
    url, _ = serve(hf.AdminserverHandler, secrets={SECRET}, mode="ok", delay=0.0, config=hf.adminserver_config(
        mysql_host="localhost", mysql_port=3306, mysql_database=harbor_db.name, mysql_username="root"))
    secret = tmp_path / "secret"
    secret.write_text(SECRET + "\n")
    report = tmp_path / "report.md"
    code, out, err = run_cli(
        ["verify", "--only", "registry", "--only", "adminserver", "--registry", planted_registry.url,
         "--registry-user", ADMIN[0], "--adminserver", url, "--adminserver-secret-file", str(secret),
         "--report", str(report), "--json", "--dsn", _dsn(http_mariadb, harbor_db)],
        env={"HARBOR_MIGRATE_REGISTRY_PASSWORD": ADMIN[1]})
    data = json.loads(out)
    assert set(data["sections"]) == {"registry", "adminserver"}
    assert any(c["name"].startswith("registry") for c in data["sections"]["registry"])
    # the planted database has repositories only in the database: Harbor would delete them, so it fails
    assert code == ExitCode.VERIFY_FAILED and data["ok"] is False
    text = out + err + report.read_text()
    for value in (SECRET, ADMIN[1]) + hf.SECRET_VALUES:
        assert value not in text
    assert "## registry" in report.read_text() and "## adminserver" in report.read_text()


def test_wrong_registry_password_has_its_own_exit_code(http_mariadb, harbor_db, planted_registry):
    code, out, err = run_cli(["verify", "--only", "registry", "--registry", planted_registry.url, "--registry-user",
                              ADMIN[0], "--dsn", _dsn(http_mariadb, harbor_db)],
                             env={"HARBOR_MIGRATE_REGISTRY_PASSWORD": "wrong"})
    assert code == ExitCode.ENDPOINT_AUTH and "Traceback" not in err and "wrong" not in out + err


def test_unreachable_adminserver(http_mariadb, harbor_db, closed_port_url):
    code, out, err = run_cli(["verify", "--only", "adminserver", "--adminserver", closed_port_url, "--dsn",
                              _dsn(http_mariadb, harbor_db)], env={"HARBOR_MIGRATE_ADMINSERVER_SECRET": SECRET})
    assert code == ExitCode.ENDPOINT_UNREACHABLE and SECRET not in out + err
