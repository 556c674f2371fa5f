"""0.5.0 harbor.cfg -> 1.5.2: Harbor's shipped files, then variants a user would have."""
from __future__ import annotations

import json
import re

import pytest
from cfg_helpers import active_keys, drop_key, line_above, set_key, without_comments
from test_cfg_parse import prepare_reads

from migrator.cfg import template as T
from migrator.cfg.convert import ConversionRefused, convert
from migrator.cfg.parse import parse
from migrator.cfg.secretkey import encrypt
from migrator.errors import ConfigInvalid, UsageError
from migrator.settings import ConnectionSettings

EXTERNAL = ConnectionSettings(host="db.internal.example", port=3307, user="harbor", password="Conn-Pw-4711",
                              database="registry")


def values(text: str) -> dict[str, str]:
    return parse(text).as_dict()


def everything_shown(report) -> str:
    return report.render_text() + report.render_json()


# --------------------------------------------------------------------------- the shipped files

def test_stock_050_becomes_stock_152_key_for_key(cfg_050, cfg_152):
    new, report = convert(cfg_050, db=None)
    assert active_keys(new) == active_keys(cfg_152)          # same keys, same order
    assert values(new) == values(cfg_152)                     # and, for the stock file, the same values
    assert prepare_reads(new) == values(new)                  # Harbor's reader agrees with ours


def test_stock_050_report(cfg_050):
    new, report = convert(cfg_050, db=None)
    old = values(cfg_050)
    for key in T.KEPT_050:
        if key in old and key not in ("ldap_scope", "max_job_workers"):
            assert values(new)[key] == old[key], key
            assert report.by_key(key).action == "kept", key
    scope = report.by_key("ldap_scope")
    assert (scope.action, scope.old, scope.new) == ("changed", "3", "2")
    assert values(new)["ldap_scope"] == "2"
    assert report.by_key("max_job_workers").new == "50"
    removed = {c.key for c in report.changes if c.action == "removed"}
    assert removed == set(T.REMOVED_050)
    assert all(c.note for c in report.changes if c.action == "removed")   # each says what replaces it
    added = {c.key for c in report.changes if c.action == "added"}
    assert added == set(T.KEYS_152) - set(T.KEPT_050) - {"reload_config", "skip_reload_env_pattern"}
    for key in ("email_password", "harbor_admin_password", "db_password", "clair_db_password"):
        assert report.by_key(key).new == "***"
    assert "root123" not in everything_shown(report) and "Harbor12345" not in everything_shown(report)


def test_1_5_2_file_is_refused(cfg_152):
    with pytest.raises(ConfigInvalid) as exc:
        convert(cfg_152, db=None)
    assert "_version = 1.5.0" in exc.value.message and "not 0.5.0" in exc.value.message


def test_template_agrees_with_harbors_1_5_2_file(cfg_152):
    shipped_active = set(active_keys(cfg_152))
    shipped_commented = {m.group(1) for m in re.finditer(r"^#\s*(\w+)\s*=", cfg_152, re.M)}
    assert T.REQUIRED_152 <= shipped_active
    assert set(T.KEYS_152) == shipped_active | (shipped_commented & set(T.KEYS_152))
    assert [k for k in T.KEYS_152 if k in shipped_active] == active_keys(cfg_152)
    for slot in T.SLOTS:
        if slot.key in shipped_active:
            assert values(cfg_152)[slot.key] == slot.default, slot.key


# Env variables the adminserver stores encrypted (harbor-facts §5.4, marked E).
ENCRYPTED_ENV = {"MYSQL_PWD", "LDAP_SEARCH_PWD", "EMAIL_PWD", "HARBOR_ADMIN_PASSWORD", "CLAIR_DB_PASSWORD",
                 "UAA_CLIENTSECRET"}
# Env variables that steer the adminserver's start and are not stored in properties.
NOT_STORED_ENV = {"RESET", "SKIP_RELOAD_ENV_PATTERN"}


def test_template_covers_what_adminserver_stores(adminserver_env_152):
    env = dict(re.findall(r"^(\w+)=\$(\w+)$", adminserver_env_152, re.M))
    stored = {key for name, key in env.items() if key in T.BY_KEY and name not in NOT_STORED_ENV}
    assert len(stored) > 30
    missing = sorted(k for k in stored if not T.BY_KEY[k].stored_as)
    assert not missing                                        # each gets the properties.v length check
    assert all(not T.BY_KEY[env[n]].stored_as for n in NOT_STORED_ENV)
    encrypted = {key for name, key in env.items() if name in ENCRYPTED_ENV and key in T.BY_KEY}
    # prepare renames email_password to $email_pwd, so that one is not found by name
    assert encrypted | {"email_password"} == {s.key for s in T.SLOTS if s.encrypted}


def test_required_keys_are_in_every_output(cfg_050):
    for text in (cfg_050, without_comments(cfg_050)):
        new, _ = convert(text, db=None)
        assert T.REQUIRED_152 <= set(values(new))


# --------------------------------------------------------------------------- other inputs refused

@pytest.mark.parametrize("make, fragment", [
    (lambda t: set_key(set_key(t, "secretkey_path", "/data"), "admiral_url", "NA"), "Harbor 1.1 or later"),
    (lambda t: "", "not a Harbor harbor.cfg"),
    (lambda t: "# just a comment\nfoo = bar\n", "not a Harbor harbor.cfg"),
    (lambda t: drop_key(t, "auth_mode"), "incomplete 0.5.0 harbor.cfg: auth_mode missing"),
])
def test_other_files_are_refused(cfg_050, make, fragment):
    with pytest.raises(ConfigInvalid) as exc:
        convert(make(cfg_050), db=None)
    assert fragment in exc.value.message


# --------------------------------------------------------------------------- LDAP

def test_ldap_search_settings_survive(cfg_050):
    text = set_key(cfg_050, "auth_mode", "ldap_auth")
    text = set_key(text, "ldap_searchdn", "cn=svc,ou=apps,dc=corp,dc=example")
    text = set_key(text, "ldap_search_pwd", "Ldap-Pw-0815")
    text = set_key(text, "ldap_filter", "(memberOf=cn=harbor,ou=groups,dc=corp,dc=example)")
    new, report = convert(text, db=None)
    got = values(new)
    assert got["auth_mode"] == "ldap_auth"
    assert got["ldap_searchdn"] == "cn=svc,ou=apps,dc=corp,dc=example"
    assert got["ldap_search_pwd"] == "Ldap-Pw-0815"
    assert got["ldap_filter"] == "(memberOf=cn=harbor,ou=groups,dc=corp,dc=example)"
    order = active_keys(new)
    assert [k for k in order if k.startswith("ldap_") and not k.startswith("ldap_group")][:7] == [
        "ldap_url", "ldap_searchdn", "ldap_search_pwd", "ldap_basedn", "ldap_filter", "ldap_uid", "ldap_scope"]
    assert report.by_key("ldap_search_pwd").action == "kept"
    assert report.by_key("ldap_search_pwd").old == "***"
    assert "Ldap-Pw-0815" not in everything_shown(report)


def test_unset_optional_ldap_keys_stay_commented_once(cfg_050):
    for text in (cfg_050, without_comments(cfg_050)):
        new, _ = convert(text, db=None)
        for key in ("ldap_searchdn", "ldap_search_pwd", "ldap_filter"):
            assert key not in values(new)
            assert len(re.findall(rf"^#\s*{key}\s*=", new, re.M)) == 1, key


@pytest.mark.parametrize("old, new", [("1", "0"), ("2", "1"), ("3", "2"), ("0", "2"), ("7", "2"), ("sub", "2")])
def test_ldap_scope_shift(cfg_050, old, new):
    text, report = convert(set_key(cfg_050, "ldap_scope", old), db=None)
    assert values(text)["ldap_scope"] == new
    change = report.by_key("ldap_scope")
    assert (change.old, change.new) == (old, new)


def test_ldap_scope_comment_is_renumbered(cfg_050):
    new, _ = convert(cfg_050, db=None)
    assert line_above(new, "ldap_scope") == (
        "#the scope to search for users, 0-LDAP_SCOPE_BASE, 1-LDAP_SCOPE_ONELEVEL, 2-LDAP_SCOPE_SUBTREE")


# --------------------------------------------------------------------------- database keys

def test_external_database_keys_from_the_connection(cfg_050):
    new, report = convert(cfg_050, db=EXTERNAL)
    got = values(new)
    assert (got["db_host"], got["db_port"], got["db_user"]) == ("db.internal.example", "3307", "harbor")
    assert got["db_password"] == "root123"                      # not asked: left as in the file
    assert "--include-db-password" in report.by_key("db_password").note
    assert "Conn-Pw-4711" not in new and "Conn-Pw-4711" not in everything_shown(report)


def test_include_db_password(cfg_050):
    new, report = convert(cfg_050, db=EXTERNAL, include_db_password=True)
    assert values(new)["db_password"] == "Conn-Pw-4711"
    change = report.by_key("db_password")
    assert (change.action, change.old, change.new) == ("changed", "***", "***")
    assert "Conn-Pw-4711" not in everything_shown(report) and "root123" not in everything_shown(report)


def test_include_db_password_needs_one(cfg_050):
    with pytest.raises(UsageError):
        convert(cfg_050, db=ConnectionSettings(host="db"), include_db_password=True)


def test_database_warnings(cfg_050):
    _, local = convert(cfg_050, db=ConnectionSettings(host="127.0.0.1", database="harbor_reg"))
    assert any("db_host = 127.0.0.1" in w for w in local.warnings)
    assert any("MYSQL_DATABASE=registry" in w for w in local.warnings)
    new, sock = convert(cfg_050, db=ConnectionSettings(unix_socket="/run/mysqld/mysqld.sock", user="harbor"))
    assert values(new)["db_host"] == "mysql" and values(new)["db_user"] == "harbor"
    assert any("unix socket" in w for w in sock.warnings)
    _, none = convert(cfg_050, db=None)
    assert any("no database connection given" in w for w in none.warnings)


def test_connection_password_too_long_is_refused(cfg_050):
    db = ConnectionSettings(host="db", password="p" * 80)
    with pytest.raises(ConversionRefused) as exc:
        convert(cfg_050, db=db, include_db_password=True)
    assert "db_password (80 bytes" in exc.value.message and "p" * 80 not in exc.value.message


# --------------------------------------------------------------------------- other keys

def test_verify_remote_cert_off(cfg_050):
    _, report = convert(set_key(cfg_050, "verify_remote_cert", "off"), db=None)
    change = report.by_key("verify_remote_cert")
    assert (change.action, change.old) == ("removed", "off")
    assert "apply-insecure" in change.note
    assert any("apply-insecure" in step for step in report.next_steps)


def test_verify_remote_cert_on_needs_nothing(cfg_050):
    _, report = convert(cfg_050, db=None)
    assert "nothing to do" in report.by_key("verify_remote_cert").note
    assert not any("apply-insecure" in step for step in report.next_steps)


def test_own_max_job_workers_is_kept(cfg_050):
    new, report = convert(set_key(cfg_050, "max_job_workers", "10"), db=None)
    assert values(new)["max_job_workers"] == "10" and report.by_key("max_job_workers").action == "kept"


def test_secretkey_dir(cfg_050, tmp_path):
    new, report = convert(cfg_050, db=None, secretkey_dir="/srv/harbor/data/")
    assert values(new)["secretkey_path"] == "/srv/harbor/data"
    assert any("check-key /srv/harbor/data/secretkey" in s for s in report.next_steps)
    keyfile = tmp_path / "secretkey"
    keyfile.write_text("0123456789abcdef")
    with pytest.raises(UsageError):
        convert(cfg_050, db=None, secretkey_dir=str(keyfile))


def test_unknown_keys_are_carried_to_the_end(cfg_050):
    text = set_key(set_key(cfg_050, "my_note", "ask ops"), "old_api_password", "Unknown-Pw-1")
    new, report = convert(text, db=None)
    assert active_keys(new)[-2:] == ["my_note", "old_api_password"]
    assert report.by_key("my_note").new == "ask ops"
    assert report.by_key("old_api_password").new == "***"
    assert "Unknown-Pw-1" not in everything_shown(report)


@pytest.mark.parametrize("key, value, fragment", [
    ("auth_mode", "uaa_auth", "must be one of db_auth, ldap_auth"),
    ("token_expiration", "half an hour", "whole number"),
    ("email_server_port", "70000", "whole number from 1 to 65535"),
    ("project_creation_restriction", "nobody", "everyone, adminonly"),
])
def test_values_1_5_2_would_reject(cfg_050, key, value, fragment):
    with pytest.raises(ConversionRefused) as exc:
        convert(set_key(cfg_050, key, value), db=None)
    assert key in exc.value.message and fragment in exc.value.message
    assert exc.value.report.by_key(key).action == "refused"


def test_semicolon_in_a_value_is_warned(cfg_050):
    new, report = convert(set_key(cfg_050, "email_from", "Harbor ;admin"), db=None)
    assert values(new)["email_from"] == "Harbor ;admin"
    assert any(w.startswith("email_from:") for w in report.warnings)


# --------------------------------------------------------------------------- lengths

def test_encrypted_length_matches_real_encryption():
    key = b"0123456789abcdef"
    for n in (0, 1, 17, 73, 74, 75, 100):
        assert len(encrypt("x" * n, key)) == T.encrypted_length(n)
    assert T.MAX_ENCRYPTED_PLAINTEXT == 74
    assert len(encrypt("x" * 74, key)) == 128 < len(encrypt("x" * 75, key))


def test_value_over_128_characters_is_refused(cfg_050):
    long_dn = "ou=people," + "dc=x," * 23 + "dc=end"          # 131 characters
    assert len(long_dn) > 128
    with pytest.raises(ConversionRefused) as exc:
        convert(set_key(cfg_050, "ldap_basedn", long_dn), db=None)
    assert "ldap_basedn" in exc.value.message and long_dn not in exc.value.message
    fits = long_dn[:128]
    new, _ = convert(set_key(cfg_050, "ldap_basedn", fits), db=None)
    assert values(new)["ldap_basedn"] == fits


@pytest.mark.parametrize("key", ["email_password", "harbor_admin_password", "ldap_search_pwd", "db_password"])
def test_password_over_74_bytes_is_refused_without_showing_it(cfg_050, key):
    secret = "Pw-" + "z" * 72                               # 75 bytes
    with pytest.raises(ConversionRefused) as exc:
        convert(set_key(cfg_050, key, secret), db=None)
    assert f"{key} (75 bytes" in exc.value.message
    shown = exc.value.message + json.dumps(exc.value.report.to_json())
    assert secret not in shown and "z" * 20 not in shown
    new, _ = convert(set_key(cfg_050, key, secret[:74]), db=None)
    assert values(new)[key] == secret[:74]


def test_password_limit_counts_bytes_not_characters(cfg_050):
    with pytest.raises(ConversionRefused):
        convert(set_key(cfg_050, "email_password", "é" * 38), db=None)   # 76 bytes
    new, _ = convert(set_key(cfg_050, "email_password", "é" * 37), db=None)  # 74 bytes
    assert values(new)["email_password"] == "é" * 37


def test_hostname_limit_includes_the_protocol(cfg_050):
    https = set_key(cfg_050, "ui_url_protocol", "https")
    with pytest.raises(ConversionRefused) as exc:
        convert(set_key(https, "hostname", "h" * 121), db=None)       # https:// + 121 = 129
    assert "hostname" in exc.value.message and "ext_endpoint" in exc.value.message
    convert(set_key(https, "hostname", "h" * 120), db=None)            # exactly 128: fits


def test_all_refusals_are_reported_together(cfg_050):
    text = set_key(set_key(cfg_050, "email_password", "q" * 80), "ldap_url", "ldap://" + "l" * 130)
    with pytest.raises(ConversionRefused) as exc:
        convert(text, db=None)
    assert {c.key for c in exc.value.report.refused} == {"email_password", "ldap_url"}
    assert exc.value.report.to_json()["ok"] is False


# --------------------------------------------------------------------------- comments

def test_user_comments_move_with_their_keys(cfg_050):
    text = cfg_050.replace("hostname = reg.mydomain.com",
                           "# ops: this is the DNS alias, not the VM name\nhostname = reg.mydomain.com")
    text = text.replace("db_password = root123", "# rotated 2017-11, see vault\ndb_password = root123")
    text = text.replace("use_compressed_js = on", "# keep until the UI bug is fixed\nuse_compressed_js = on")
    new, _ = convert(text, db=None)
    assert line_above(new, "hostname") == "# ops: this is the DNS alias, not the VM name"
    assert line_above(new, "db_password") == "# rotated 2017-11, see vault"
    assert "keep until the UI bug is fixed" not in new          # its key is gone
    assert new.startswith("## Configuration file of Harbor\n")
    assert "#Maximum number of job workers in job service" in new
    assert line_above(new, "ldap_timeout") == "#Seconds to wait for the LDAP server."   # ours, for a new key


def test_template_comments_when_the_user_has_none(cfg_050):
    new, _ = convert(without_comments(cfg_050), db=None)
    assert line_above(new, "ldap_scope") == "#User search scope: 0 base, 1 one level, 2 subtree."
    assert "\n\n\n" not in new
