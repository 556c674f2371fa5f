"""Adminserver verification against an in-process fake of Harbor 1.5.2's adminserver."""
from __future__ import annotations

import json
import logging
import time

import pytest

import harbor_fakes as hf
from migrator.verdicts import Verdict
from migrator.errors import ExitCode
from migrator.settings import ConnectionSettings
from migrator.verify.adminserver import (SECRET_KEYS, check_expected, check_settings, parse_configurations,
                                         verify_adminserver)

SECRET = "Ab3dE6gH9jK2mN5p"      # a 16-character UI_SECRET as prepare makes them
CONN = ConnectionSettings(host="127.0.0.1", port=3306, user="harbor", password="dbpw", database="registry")


@pytest.fixture
def adminserver(serve):
    def start(mode="ok", delay=0.0, **config):
        return serve(hf.AdminserverHandler, secrets={SECRET, "JobServiceSecret1"}, config=hf.adminserver_config(**config),
                     mode=mode, delay=delay)
    return start


def statuses(checks):
    return {c.name: c.status for c in checks}


def test_healthy_adminserver_matching_the_database(adminserver, caplog):
    caplog.set_level(logging.DEBUG)
    url, server = adminserver()
    checks = verify_adminserver(url, SECRET + "\n", CONN)
    assert statuses(checks) == {"adminserver.ping": Verdict.OK, "adminserver.configurations": Verdict.OK,
                                "adminserver.database": Verdict.OK, "adminserver.settings": Verdict.OK}
    assert "harbor@127.0.0.1:3306/registry" in checks[2].message
    # The header is exactly "Harbor-Secret <secret>"; ping goes without it.
    assert server.recorder.auth_headers == [("/api/ping", None),
                                            ("/api/configurations", f"Harbor-Secret {SECRET}")]
    everything = json.dumps([c.to_json() for c in checks]) + repr(checks) + caplog.text
    for value in hf.SECRET_VALUES + (SECRET,):
        assert value not in everything


def test_the_jobservice_secret_works_too(adminserver):
    url, _ = adminserver()
    assert statuses(verify_adminserver(url, "JobServiceSecret1", CONN))["adminserver.configurations"] is Verdict.OK


def test_secrets_are_dropped_while_parsing():
    text = json.dumps(hf.adminserver_config(nested={"some_password": "x", "keep": 1}, future_api_token="t"))
    config = parse_configurations(text)
    assert not SECRET_KEYS & set(config)
    assert "future_api_token" not in config and config["nested"] == {"keep": 1}
    assert config["mysql_host"] == "127.0.0.1" and config["ldap_scope"] == 2


def test_host_given_as_a_name_is_a_warning(adminserver):
    url, _ = adminserver(mysql_host="mysql")
    checks = {c.name: c for c in verify_adminserver(url, SECRET, CONN)}
    db = checks["adminserver.database"]
    assert db.status is Verdict.WARN and db.exit_code is None
    assert db.details == ["mysql_host: adminserver 'mysql', verified '127.0.0.1' (a name and an address can be the "
                          "same server: make sure they are)"]


def test_other_port_database_or_user_fails_with_each_difference(adminserver):
    url, _ = adminserver(mysql_port=3307, mysql_database="harbor", mysql_username="root", database_type="pgsql")
    db = {c.name: c for c in verify_adminserver(url, SECRET, CONN)}["adminserver.database"]
    assert db.status is Verdict.FAIL and db.exit_code == ExitCode.VERIFY_FAILED
    assert db.details == ["database_type: adminserver 'pgsql', expected 'mysql'",
                          "mysql_database: adminserver 'harbor', verified 'registry'",
                          "mysql_username: adminserver 'root', verified 'harbor'",
                          "mysql_port: adminserver 3307, verified 3306"]


def test_socket_connection_cannot_be_compared_by_host_and_port(adminserver):
    url, _ = adminserver()
    conn = ConnectionSettings(unix_socket="/run/mysqld/mysqld.sock", user="harbor", database="registry")
    db = {c.name: c for c in verify_adminserver(url, SECRET, conn)}["adminserver.database"]
    assert db.status is Verdict.WARN and "socket" in db.details[0]


def test_invalid_settings_are_listed():
    config = hf.adminserver_config(ldap_scope=3, auth_mode="ldap", ldap_group_search_scope="7",
                                   self_registration="on", token_expiration="soon")
    check = check_settings(parse_configurations(json.dumps(config)))
    assert check.status is Verdict.FAIL and check.exit_code == ExitCode.VERIFY_FAILED
    assert check.details == [
        "auth_mode: 'ldap', expected one of db_auth, ldap_auth, uaa_auth",
        "ldap_scope: 3, expected 0 (base), 1 (one level) or 2 (subtree)",
        "ldap_group_search_scope: '7', expected 0 (base), 1 (one level) or 2 (subtree)",
        "token_expiration: 'soon' is not a number",
        "self_registration: 'on' is not a boolean",
    ]


def test_0_5_0_worker_count_is_a_remark():
    check = check_settings(hf.adminserver_config(max_job_workers=3))
    assert check.status is Verdict.WARN and "0.5.0 default" in check.details[0]


def test_expected_values_are_compared_per_key_and_secrets_are_not():
    config = parse_configurations(json.dumps(hf.adminserver_config()))
    ok = check_expected(config, {"auth_mode": "db_auth", "self_registration": "on", "email_port": "25",
                                 "mysql_password": "PLAIN-mysql-Secret-1"})
    assert ok.status is Verdict.OK and ok.details == ["not compared (secret): mysql_password"]
    assert "3 adminserver settings" in ok.message
    bad = check_expected(config, {"auth_mode": "ldap_auth", "with_clair": True, "ldap_url": "ldaps://x"})
    assert bad.status is Verdict.FAIL and bad.details == [
        "auth_mode: adminserver 'db_auth', expected 'ldap_auth'",
        "ldap_url: adminserver '', expected 'ldaps://x'",
        "with_clair: adminserver False, expected True",
    ]


def test_expected_dict_is_applied_by_verify(adminserver):
    url, _ = adminserver()
    checks = {c.name: c for c in verify_adminserver(url, SECRET, CONN, expected={"registry_url": "http://reg:5000"})}
    assert checks["adminserver.expected"].status is Verdict.FAIL
    assert checks["adminserver.expected"].details == [
        "registry_url: adminserver 'http://registry:5000', expected 'http://reg:5000'"]


def test_wrong_secret_is_an_auth_failure(adminserver):
    url, _ = adminserver()
    checks = verify_adminserver(url, "wrong-secret", CONN)
    assert [(c.name, c.status) for c in checks] == [("adminserver.ping", Verdict.OK),
                                                   ("adminserver.configurations", Verdict.FAIL)]
    assert checks[1].exit_code == ExitCode.ENDPOINT_AUTH and "UI_SECRET" in checks[1].message
    assert "wrong-secret" not in checks[1].message


def test_missing_secret_is_refused_before_asking(adminserver):
    url, server = adminserver()
    checks = verify_adminserver(url, "", CONN)
    assert checks[1].exit_code == ExitCode.ENDPOINT_AUTH
    assert server.recorder.paths == ["/api/ping"]


def test_server_error_after_bounded_retries(adminserver):
    url, server = adminserver(mode="error")
    checks = verify_adminserver(url, SECRET, CONN)
    assert checks[1].status is Verdict.FAIL and checks[1].exit_code == ExitCode.ENDPOINT_PROTOCOL
    assert "HTTP 500" in checks[1].message
    assert server.recorder.paths.count("/api/configurations") == 4     # 1 + 3 retries


def test_answer_slower_than_the_timeout(adminserver):
    url, _ = adminserver(mode="slow", delay=3.0)
    started = time.monotonic()
    checks = verify_adminserver(url, SECRET, CONN, timeout=0.5)
    assert checks[1].exit_code == ExitCode.ENDPOINT_UNREACHABLE and "within 0.5s" in checks[1].message
    assert time.monotonic() - started < 2.5


def test_unreachable_adminserver(closed_port_url):
    checks = verify_adminserver(closed_port_url, SECRET, CONN)
    assert [(c.name, c.exit_code) for c in checks] == [("adminserver.ping", ExitCode.ENDPOINT_UNREACHABLE)]


def test_not_an_adminserver(directory_server):
    checks = verify_adminserver(directory_server, SECRET, CONN)
    assert [(c.name, c.exit_code) for c in checks] == [("adminserver.ping", ExitCode.ENDPOINT_PROTOCOL)]
    assert "not a Harbor adminserver" in checks[0].message


def test_bad_url_is_reported_not_raised():
    checks = verify_adminserver("ftp://x", SECRET, CONN)
    assert checks[0].status is Verdict.FAIL and "expected http(s)://host[:port]" in checks[0].message
