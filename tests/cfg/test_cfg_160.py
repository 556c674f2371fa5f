"""``cfg convert --to 1.6.0``: 0.5.0 and 1.5.x files to 1.6.0, db_* from --target-dsn (server-free)."""
from __future__ import annotations

import json

import pytest
from cfg_helpers import active_keys, set_key
from click.testing import CliRunner
from conftest import reference_text

from migrator.cfg.convert import convert
from migrator.cfg.parse import parse
from migrator.cli.cfg import cfg
from migrator.errors import ConfigInvalid, ExitCode
from migrator.postgres.settings import PgSettings

PG_PW = "Pg-Pw-5521"
FILE_PW = "PgFile-Pw-8812"
SECRETS = ("Admin-Pw-9931", "Mail-Pw-4410", "Db-Pw-7720", PG_PW, FILE_PW)
CLEAN_ENV = {k: None for k in ("HARBOR_MIGRATE_DSN", "HARBOR_MIGRATE_HOST", "HARBOR_MIGRATE_SOCKET",
                               "HARBOR_MIGRATE_CONFIG", "HARBOR_MIGRATE_PASSWORD", "HARBOR_MIGRATE_PORT",
                               "HARBOR_MIGRATE_USER", "HARBOR_MIGRATE_DATABASE", "HARBOR_MIGRATE_TARGET_DSN",
                               "HARBOR_MIGRATE_TARGET_PASSWORD_FILE")}


def run(args):
    return CliRunner().invoke(cfg, [str(a) for a in args], env=CLEAN_ENV)


def with_secrets(text: str) -> str:
    for key, value in (("harbor_admin_password", "Admin-Pw-9931"), ("email_password", "Mail-Pw-4410"),
                       ("db_password", "Db-Pw-7720")):
        text = set_key(text, key, value)
    return text


@pytest.fixture
def keys_160() -> list[str]:
    return active_keys(reference_text("harbor-1.6.0.cfg"))


def test_050_to_160_has_the_reference_keys_in_order(cfg_050, keys_160):
    text, report = convert(cfg_050, db=None, to="1.6.0")
    assert active_keys(text) == keys_160
    doc = parse(text)
    assert doc.get("_version") == "1.6.0"
    assert (doc.get("db_host"), doc.get("db_port"), doc.get("db_user")) == ("postgresql", "5432", "postgres")
    assert doc.get("max_job_workers") == "10" and doc.get("ldap_scope") == "2"
    assert report.target_version == "1.6.0" and report.source_version == "0.5.0"
    removed = {c.key for c in report.changes if c.action == "removed"}
    assert {"use_compressed_js", "verify_remote_cert", "crt_email"} <= removed
    assert any("--target-dsn" in w for w in report.warnings)


def test_db_keys_from_the_target_dsn(cfg_050):
    target = PgSettings.from_dsn(f"postgresql://harbor:{PG_PW}@pg.corp:5433/registry")
    text, report = convert(with_secrets(cfg_050), db=None, to="1.6.0", target=target)
    doc = parse(text)
    assert (doc.get("db_host"), doc.get("db_port"), doc.get("db_user"), doc.get("db_password")) == \
        ("pg.corp", "5433", "harbor", PG_PW)
    dumped = report.render_text() + report.render_json()
    for secret in SECRETS:
        assert secret not in dumped
    assert report.by_key("db_password").new == "***"


def test_another_database_name_is_warned(cfg_050):
    target = PgSettings.from_dsn("postgresql://harbor@pg.corp:5432/harbor16")
    _, report = convert(cfg_050, db=None, to="1.6.0", target=target)
    assert any("POSTGRESQL_DATABASE=registry" in w for w in report.warnings)


def test_152_to_160(cfg_152, keys_160):
    old = set_key(set_key(cfg_152, "redis_url", "cache.corp:6380,100,Redis-Pw-1,0"), "ldap_scope", "1")
    text, report = convert(old, db=None, to="1.6.0", secretkey_dir=None)
    assert active_keys(text) == keys_160
    doc = parse(text)
    assert doc.get("_version") == "1.6.0"
    assert doc.get("ldap_scope") == "1"          # already 0-based: not shifted again
    assert doc.get("max_job_workers") == "50"    # the user's value (1.5.2's default) is kept
    assert (doc.get("redis_host"), doc.get("redis_port"), doc.get("redis_password")) == \
        ("cache.corp", "6380", "Redis-Pw-1")
    assert report.source_version == "1.5.2"
    assert report.by_key("redis_url").action == "removed"
    assert "Redis-Pw-1" not in report.render_text() + report.render_json()
    assert report.by_key("db_host").action == "changed"   # was MySQL's


def test_152_default_stays_byte_identical(cfg_050):
    assert convert(cfg_050, db=None)[0] == convert(cfg_050, db=None, to="1.5.2")[0]
    assert "_version = 1.5.0" in convert(cfg_050, db=None)[0]


def test_a_160_file_is_refused(cfg_152):
    text, _ = convert(cfg_152, db=None, to="1.6.0")
    with pytest.raises(ConfigInvalid) as exc:
        convert(text, db=None, to="1.6.0")
    assert exc.value.exit_code == ExitCode.CONFIG_INVALID == 21


def test_cli_050_to_160(tmp_path, cfg_050, keys_160):
    src = tmp_path / "harbor.cfg"
    src.write_text(with_secrets(cfg_050))
    pwfile = tmp_path / "pw"
    pwfile.write_text(FILE_PW + "\n")
    out = tmp_path / "harbor-1.6.0.cfg"
    result = run(["convert", src, "--to", "1.6.0", "--target-dsn", "postgresql://harbor@pg.corp:5432/registry",
                  "--target-password-file", pwfile, "-o", out, "--json"])
    assert result.exit_code == 0, result.output
    for secret in SECRETS:
        assert secret not in result.stdout and secret not in result.stderr
    report = json.loads(result.stdout)
    assert report["target_version"] == "1.6.0"
    assert active_keys(out.read_text()) == keys_160
    assert parse(out.read_text()).get("db_password") == FILE_PW
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_cli_152_to_160_with_the_dsn_password(tmp_path, cfg_152):
    src = tmp_path / "harbor.cfg"
    src.write_text(cfg_152)
    out = tmp_path / "new.cfg"
    result = run(["convert", src, "--to", "1.6.0", "--target-dsn", f"postgresql://h:{PG_PW}@db:5432/registry",
                  "-o", out])
    assert result.exit_code == 0, result.output
    assert PG_PW not in result.stdout + result.stderr
    assert "harbor.cfg 1.5.2 -> 1.6.0" in result.stdout
    assert parse(out.read_text()).get("db_password") == PG_PW


def test_cli_usage_errors(tmp_path, cfg_050, cfg_152):
    src = tmp_path / "harbor.cfg"
    src.write_text(cfg_050)
    r = run(["convert", src, "--target-dsn", "postgresql://h@db/registry", "-o", tmp_path / "a.cfg"])
    assert r.exit_code == int(ExitCode.USAGE) and "--to 1.6.0" in r.stderr
    r = run(["convert", src, "--to", "1.6.0", "--include-db-password", "-o", tmp_path / "b.cfg"])
    assert r.exit_code == int(ExitCode.USAGE)
    old15 = tmp_path / "old15.cfg"
    old15.write_text(cfg_152)
    r = run(["convert", old15, "-o", tmp_path / "c.cfg"])   # --to 1.5.2 still refuses a 1.5.x file
    assert r.exit_code == 21 and len(r.stderr.strip().splitlines()) == 1
