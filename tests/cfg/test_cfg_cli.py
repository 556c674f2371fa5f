"""``harbor-migrate cfg``: exit codes, files, output streams, and no password anywhere in them."""
from __future__ import annotations

import json
import pathlib
import stat

import click
import pytest
from cfg_helpers import set_key, target_database
from click.testing import CliRunner

from migrator.cfg.convert import convert
from migrator.cfg.secretkey import encrypt
from migrator.cli.cfg import cfg, handle_errors
from migrator.errors import ExitCode, KeyInvalid

REPO = pathlib.Path(__file__).resolve().parents[2]
SECRETS = ("Admin-Pw-9931", "Mail-Pw-4410", "Db-Pw-7720", "Conn-Pw-4711", "Repl-Pw-one-2017")
# An environment without the user's HARBOR_MIGRATE_* settings.
CLEAN_ENV = {"HARBOR_MIGRATE_DSN": None, "HARBOR_MIGRATE_HOST": None, "HARBOR_MIGRATE_SOCKET": None,
             "HARBOR_MIGRATE_CONFIG": None, "HARBOR_MIGRATE_PASSWORD": None, "HARBOR_MIGRATE_PORT": None,
             "HARBOR_MIGRATE_USER": None, "HARBOR_MIGRATE_DATABASE": None}


def run(args, env=None):
    return CliRunner().invoke(cfg, [str(a) for a in args], env={**CLEAN_ENV, **(env or {})})


def assert_no_secret(result):
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr, secret


@pytest.fixture
def old_cfg(tmp_path, cfg_050) -> pathlib.Path:
    text = set_key(cfg_050, "harbor_admin_password", "Admin-Pw-9931")
    text = set_key(text, "email_password", "Mail-Pw-4410")
    text = set_key(text, "db_password", "Db-Pw-7720")
    path = tmp_path / "harbor-0.5.0.cfg"
    path.write_text(text)
    return path


def test_convert_writes_a_private_file(old_cfg, tmp_path):
    out = tmp_path / "harbor.cfg"
    result = run(["convert", old_cfg, "-o", out])
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text() == convert(old_cfg.read_text(), db=None)[0]
    assert "changed  ldap_scope" in result.stdout and f"wrote {out}" in result.stderr
    assert_no_secret(result)


def test_convert_refuses_to_overwrite(old_cfg, tmp_path):
    out = tmp_path / "harbor.cfg"
    out.write_text("keep me\n")
    result = run(["convert", old_cfg, "-o", out])
    assert result.exit_code == ExitCode.USAGE and "--force" in result.stderr
    assert out.read_text() == "keep me\n"
    forced = run(["convert", old_cfg, "-o", out, "--force"])
    assert forced.exit_code == 0 and "_version = 1.5.0" in out.read_text()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".harbor-migrate-")]


def test_convert_never_overwrites_its_input(old_cfg):
    result = run(["convert", old_cfg, "-o", old_cfg, "--force"])
    assert result.exit_code == ExitCode.USAGE and "only copy" in result.stderr
    assert "_version" not in old_cfg.read_text()


def test_convert_refuses_a_1_5_2_file(tmp_path, cfg_152):
    src, out = tmp_path / "new.cfg", tmp_path / "out.cfg"
    src.write_text(cfg_152)
    result = run(["convert", src, "-o", out])
    assert result.exit_code == ExitCode.CONFIG_INVALID and "not 0.5.0" in result.stderr
    assert not out.exists()


def test_convert_json(old_cfg, tmp_path):
    result = run(["convert", old_cfg, "-o", tmp_path / "o.cfg", "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["output"] == str(tmp_path / "o.cfg")
    by_key = {c["key"]: c for c in report["changes"]}
    assert by_key["ldap_scope"]["old"] == "3" and by_key["ldap_scope"]["new"] == "2"
    assert by_key["harbor_admin_password"]["new"] == "***"
    assert_no_secret(result)


def test_refused_conversion_json_and_exit_code(tmp_path, cfg_050):
    src, out = tmp_path / "long.cfg", tmp_path / "out.cfg"
    src.write_text(set_key(cfg_050, "email_password", "Mail-Pw-4410" + "x" * 70))
    result = run(["convert", src, "-o", out, "--json"])
    assert result.exit_code == ExitCode.CONFIG_INVALID
    report = json.loads(result.stdout)
    assert report["ok"] is False and [c["key"] for c in report["changes"] if c["action"] == "refused"] == [
        "email_password"]
    assert "email_password (82 bytes" in result.stderr
    assert_no_secret(result)
    assert not out.exists()


def test_convert_with_connection_flags(old_cfg, tmp_path):
    out = tmp_path / "harbor.cfg"
    env = {"HARBOR_MIGRATE_PASSWORD": "Conn-Pw-4711"}
    result = run(["convert", old_cfg, "-o", out, "--host", "db.corp.example", "--port", "3307", "--user", "harbor",
                  "--include-db-password", "--secretkey-dir", "/srv/harbor"], env)
    assert result.exit_code == 0, result.stderr
    text = out.read_text()
    for line in ("db_host = db.corp.example", "db_port = 3307", "db_user = harbor", "db_password = Conn-Pw-4711",
                 "secretkey_path = /srv/harbor"):
        assert f"\n{line}\n" in text
    assert "mysql://harbor:***@db.corp.example:3307/registry" in result.stderr
    assert_no_secret(result)


def test_convert_takes_the_connection_from_the_environment(old_cfg, tmp_path):
    out = tmp_path / "harbor.cfg"
    result = run(["convert", old_cfg, "-o", out],
                 {"HARBOR_MIGRATE_DSN": "mysql://harbor:Conn-Pw-4711@db.env.example:3308/registry"})
    assert result.exit_code == 0, result.stderr
    assert "\ndb_host = db.env.example\n" in out.read_text() and "\ndb_port = 3308\n" in out.read_text()
    assert "\ndb_password = Db-Pw-7720\n" in out.read_text()          # not asked for
    assert_no_secret(result)


def test_include_db_password_without_one_is_a_usage_error(old_cfg, tmp_path):
    result = run(["convert", old_cfg, "-o", tmp_path / "o.cfg", "--host", "db", "--include-db-password"])
    assert result.exit_code == ExitCode.USAGE and "needs a connection with a password" in result.stderr


def test_check_key_bad_file_fails_before_connecting(tmp_path):
    short = tmp_path / "secretkey"
    short.write_text("0123456789abcde")
    result = run(["check-key", short, "--host", "127.0.0.1", "--port", "1"])
    assert result.exit_code == ExitCode.KEY_INVALID and "15 bytes" in result.stderr
    missing = run(["check-key", tmp_path / "absent"])
    assert missing.exit_code == ExitCode.KEY_INVALID and "does not exist" in missing.stderr


def test_handle_errors_maps_the_exit_code():
    @click.command()
    @handle_errors
    def broken():
        raise KeyInvalid("the key is wrong")
    result = CliRunner().invoke(broken, [])
    assert result.exit_code == ExitCode.KEY_INVALID and result.stderr == "harbor-migrate: error: the key is wrong\n"


def test_errors_reach_the_main_cli_exit_code(tmp_path, cfg_152, capsys):
    cli_module = pytest.importorskip("migrator.cli")
    if not hasattr(cli_module, "main") or "cfg" not in getattr(getattr(cli_module, "cli", None), "commands", {}):
        pytest.skip("the main CLI does not register the cfg group yet")
    main = cli_module.main
    src, out = tmp_path / "new.cfg", tmp_path / "out.cfg"
    src.write_text(cfg_152)
    assert main(["cfg", "convert", str(src), "-o", str(out)]) == ExitCode.CONFIG_INVALID
    assert main(["cfg", "check-key", str(tmp_path / "absent")]) == ExitCode.KEY_INVALID
    err = capsys.readouterr().err
    assert "not 0.5.0" in err and "does not exist" in err and not out.exists()


def test_every_command_is_documented():
    doc = (REPO / "docs" / "cfg.md").read_text()
    for name, command in cfg.commands.items():
        assert f"harbor-migrate cfg {name}" in doc, name
        assert run([name, "--help"]).exit_code == 0
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and param.name not in ("dsn", "host", "port", "user", "database", "socket",
                                                               "password_file", "ssl_ca", "ssl_cert", "ssl_key",
                                                               "ask_password", "config", "json"):
                    assert opt in doc, f"{name} {opt}"


# --------------------------------------------------------------------------- against MariaDB

KEY = b"a7Kq2Lm9Zx4Rt8Wp"


def socket_flags(server, db) -> list[str]:
    return ["--socket", server.socket, "--user", "root", "--database", db.name]


@pytest.mark.integration
def test_check_key_cli(cfg_server, tmp_path):
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_bytes(KEY)
    bad.write_bytes(KEY[::-1])
    stored = encrypt("Repl-Pw-one-2017", KEY)
    with target_database(cfg_server, "0.4.0", [("east", stored)]) as db:
        ok = run(["check-key", good, *socket_flags(cfg_server, db)])
        assert ok.exit_code == 0 and "[  ok] secretkey.replication_targets" in ok.stdout
        wrong = run(["check-key", bad, *socket_flags(cfg_server, db), "--json"])
        assert wrong.exit_code == ExitCode.KEY_INVALID
        report = json.loads(wrong.stdout)
        assert report["status"] == "fail" and "name='east'" in report["checks"][1]["details"][0]
        assert "1 replication target password(s) do not decrypt" in wrong.stderr
        for result in (ok, wrong):
            assert_no_secret(result)
            assert stored not in result.stdout and stored[8:] not in result.stderr


@pytest.mark.integration
def test_apply_insecure_cli(cfg_server, tmp_path, cfg_050):
    src = tmp_path / "old.cfg"
    src.write_text(set_key(cfg_050, "verify_remote_cert", "off"))
    with target_database(cfg_server, "1.5.0", [("a", None, 0), ("b", None, 0)]) as db:
        dry = run(["apply-insecure", src, *socket_flags(cfg_server, db), "--dry-run"])
        assert dry.exit_code == 0 and "would set insecure = 1 on 2 of 2" in dry.stdout
        assert db.scalar("SELECT SUM(insecure) FROM replication_target") == 0
        real = run(["apply-insecure", src, *socket_flags(cfg_server, db), "--json"])
        assert real.exit_code == 0 and json.loads(real.stdout)["checks"][0]["data"]["changed"] == 2
        assert db.scalar("SELECT SUM(insecure) FROM replication_target") == 2
    with target_database(cfg_server, "0.4.0", [("a", None)]) as old:
        early = run(["apply-insecure", src, *socket_flags(cfg_server, old)])
        assert early.exit_code == ExitCode.PREFLIGHT_FAILED and "harbor-migrate upgrade" in early.stderr


def test_write_private_without_hard_links(tmp_path, monkeypatch):
    import migrator.cli.cfg as cli_cfg

    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(cli_cfg.os, "link", no_links)
    out = tmp_path / "harbor.cfg"
    cli_cfg.write_private(str(out), "hostname = x\n", force=False)
    assert out.read_text() == "hostname = x\n" and stat.S_IMODE(out.stat().st_mode) == 0o600
    with pytest.raises(cli_cfg.UsageError, match="exists"):
        cli_cfg.write_private(str(out), "other\n", force=False)
    assert out.read_text() == "hostname = x\n"
    assert [p.name for p in tmp_path.iterdir()] == ["harbor.cfg"]
