"""Registry verification against a real Docker Distribution with Harbor-style token auth."""
from __future__ import annotations

import itertools
import math
import json
import logging
import time

import pytest

import harbor_fakes as hf
import harbor_seed
from harbor_seed import ADMIN, DEVELOPER
from migrator.verdicts import Verdict
from migrator.errors import ExitCode, MigratorError
from migrator.verify.registry import project_of, reconcile, verify_registry
from migrator.verify.registry_client import RegistryClient, parse_challenge


def by_name(checks):
    return {c.name: c for c in checks}


# The outcome harbor_seed plants: every kind of difference exactly once or twice.
EXPECTED = {
    "registry.only_in_database": {"library/emptied": "in the registry without tags",
                                  "library/onlydb": "not in the registry catalog",
                                  "oldproj/app": "its project is missing or deleted"},
    "registry.only_in_storage": {"library/nginx": None},
    "registry.empty_repositories": {"library/emptied": None, "library/layersonly": None},
    "registry.orphaned_repositories": {"ghost/app": "no such project", "oldproj/app": "project deleted",
                                       "seed/base": "no such project"},
    "registry.repository_projects": {"library/misfiled": "its project_id points at project 'dev'",
                                     "oldproj/app": "its project 'oldproj' is deleted"},
}


def assert_planted(checks):
    c = by_name(checks)
    for name, expected in EXPECTED.items():
        data = c[name].data
        assert data["names"] == sorted(expected), name
        assert data["count"] == len(expected), name
        assert data.get("reasons", {}) == {k: v for k, v in expected.items() if v}, name
    assert c["registry.only_in_database"].status is Verdict.FAIL
    assert c["registry.only_in_database"].exit_code == ExitCode.VERIFY_FAILED
    for name in ("registry.only_in_storage", "registry.empty_repositories", "registry.orphaned_repositories",
                 "registry.repository_projects"):
        assert c[name].status is Verdict.WARN, name
    stats = c["registry.catalog"].data
    assert stats["catalog_repositories"] == 10
    assert stats["repository_rows"] == 7
    assert stats["matched"] == 4          # alpine, busybox, dev/tool, misfiled
    return c


# -- pure helpers ----------------------------------------------------------------------------
def test_parse_challenge_reads_realm_and_service_with_commas_and_escapes():
    scheme, params = parse_challenge(
        'Bearer realm="https://h.example.com/service/token",service="harbor-registry",'
        'scope="repository:a/b:pull,push",error="insufficient_scope",note="say \\"hi\\""')
    assert scheme == "bearer"
    assert params == {"realm": "https://h.example.com/service/token", "service": "harbor-registry",
                      "scope": "repository:a/b:pull,push", "error": "insufficient_scope", "note": 'say "hi"'}
    assert parse_challenge('Basic realm=registry') == ("basic", {"realm": "registry"})
    assert parse_challenge(None) == ("", {})


def test_project_of_is_the_first_path_component():
    assert project_of("library/a/b") == "library"
    assert project_of("busybox") == ""


# -- the real registry ---------------------------------------------------------------------------
@pytest.mark.registry
@pytest.mark.integration
def test_reconcile_finds_exactly_the_planted_differences(harbor_db, planted_registry, token_issuer):
    before = token_issuer.requests
    checks = verify_registry(harbor_db, planted_registry.url, username=ADMIN[0], password=ADMIN[1])
    c = assert_planted(checks)
    assert c["registry.api"].status is Verdict.OK
    assert "token auth" in c["registry.api"].message and "harbor-registry" in c["registry.api"].message
    # Several repository scopes per token: far fewer token requests than tag lists.
    stats = c["registry.catalog"].data
    assert stats["tag_requests"] == 7      # only live-project repositories are asked for tags
    assert token_issuer.requests - before == stats["token_requests"] <= 2
    assert "library/onlydb (not in the registry catalog)" in c["registry.only_in_database"].details


@pytest.mark.registry
@pytest.mark.integration
@pytest.mark.parametrize("page_size,concurrency", [(2, 8), (3, 1), (1, 3)])
def test_small_pages_and_any_concurrency_give_the_same_answer(harbor_db, planted_registry, page_size, concurrency):
    with RegistryClient(planted_registry.url, username=ADMIN[0], password=ADMIN[1], page_size=page_size,
                        concurrency=concurrency, scopes_per_token=2) as client:
        checks = reconcile(harbor_db, client)
        assert_planted(checks)
        # 10 names in pages of n; registry 2.6 (Harbor's) also links a full final page to an empty one.
        assert client.pages in (math.ceil(10 / page_size), 10 // page_size + 1)
        assert client.pages >= 4
        assert client.token_requests >= 1 + 7 // 2


@pytest.mark.registry
@pytest.mark.integration
def test_wrong_password_is_an_auth_failure(harbor_db, planted_registry):
    checks = verify_registry(harbor_db, planted_registry.url, username=ADMIN[0], password="wrong")
    failed = [c for c in checks if c.status is Verdict.FAIL]
    assert len(failed) == 1 and failed[0].exit_code == ExitCode.ENDPOINT_AUTH
    assert "refused the credentials of 'admin'" in failed[0].message


@pytest.mark.registry
@pytest.mark.integration
def test_non_admin_gets_no_catalog_and_is_told_to_use_an_admin(harbor_db, planted_registry):
    checks = verify_registry(harbor_db, planted_registry.url, username=DEVELOPER[0], password=DEVELOPER[1])
    failed = [c for c in checks if c.status is Verdict.FAIL]
    assert [c.exit_code for c in failed] == [ExitCode.ENDPOINT_AUTH]
    assert "system administrator" in failed[0].message


@pytest.mark.registry
@pytest.mark.integration
def test_no_credentials_against_token_auth_asks_for_them(harbor_db, planted_registry):
    checks = verify_registry(harbor_db, planted_registry.url)
    failed = [c for c in checks if c.status is Verdict.FAIL]
    assert [c.exit_code for c in failed] == [ExitCode.ENDPOINT_AUTH]
    assert "requires credentials" in failed[0].message


@pytest.mark.registry
@pytest.mark.integration
def test_registry_without_auth(empty_db, open_registry):
    harbor_seed.create_tables(empty_db)
    harbor_seed.add_user(empty_db, 1, "admin", admin=True)
    harbor_seed.add_project(empty_db, 1, "library")
    harbor_seed.add_repository(empty_db, "library/alpine", 1)
    harbor_seed.add_repository(empty_db, "library/busybox", 1)
    checks = by_name(verify_registry(empty_db, open_registry.url, timeout=5))
    assert "no auth" in checks["registry.api"].message
    assert all(c.status is Verdict.OK for c in checks.values()), [c.line() for c in checks.values()]
    assert checks["registry.catalog"].data["matched"] == 2
    assert checks["registry.catalog"].data["token_requests"] == 0


@pytest.mark.registry
def test_tag_counts_are_streamed_not_listed(planted_registry):
    with RegistryClient(planted_registry.url, username=ADMIN[0], password=ADMIN[1]) as client:
        counts = dict(client.tag_counts(["library/alpine", "dev/tool", "library/emptied", "library/layersonly"]))
    assert counts == {"library/alpine": 2, "dev/tool": 3, "library/emptied": 0, "library/layersonly": 0}


@pytest.mark.registry
def test_secrets_never_reach_logs_or_checks(planted_registry, caplog, empty_db):
    harbor_seed.create_tables(empty_db)
    caplog.set_level(logging.DEBUG)
    secret = "Sup3r-Secret-Pw"
    checks = verify_registry(empty_db, planted_registry.url, username="admin", password=secret)
    assert checks[-1].exit_code == ExitCode.ENDPOINT_AUTH
    text = caplog.text + json.dumps([c.to_json() for c in checks])
    assert "GET" in caplog.text            # the log was written, and it is clean
    assert secret not in text and "U3VwMy1TZWNyZXQtUHc" not in text and "Bearer" not in caplog.text


# -- failures of the endpoint -------------------------------------------------------------------
@pytest.mark.integration
def test_unreachable_port(harbor_db, closed_port_url):
    started = time.monotonic()
    checks = verify_registry(harbor_db, closed_port_url, username=ADMIN[0], password=ADMIN[1])
    assert [(c.name, c.status, c.exit_code) for c in checks] == [
        ("registry.api", Verdict.FAIL, ExitCode.ENDPOINT_UNREACHABLE)]
    assert "connection refused" in checks[0].message
    assert time.monotonic() - started < 5        # bounded retries


def test_plain_http_server_is_not_a_registry(directory_server):
    checks = verify_registry(None, directory_server)
    assert [(c.name, c.exit_code) for c in checks] == [("registry.api", ExitCode.ENDPOINT_PROTOCOL)]
    assert "not a Docker registry v2" in checks[0].message


def test_html_on_every_path_is_not_a_registry(serve):
    url, _ = serve(hf.HtmlEverywhereHandler)
    checks = verify_registry(None, url)
    assert [(c.name, c.exit_code) for c in checks] == [("registry.api", ExitCode.ENDPOINT_PROTOCOL)]


@pytest.mark.integration
def test_catalog_repeating_its_page_is_a_protocol_error(harbor_db, serve):
    url, server = serve(hf.FakeRegistryHandler, catalog="repeat", repos={"a/a": ["1"]})
    checks = verify_registry(harbor_db, url)
    assert checks[-1].status is Verdict.FAIL and checks[-1].exit_code == ExitCode.ENDPOINT_PROTOCOL
    assert "repeats the page after 'a/a'" in checks[-1].message
    assert server.hits <= 4


@pytest.mark.integration
def test_catalog_paging_forever_with_new_cursors_stops_at_the_bound(harbor_db, serve):
    url, server = serve(hf.FakeRegistryHandler, catalog="endless")
    with RegistryClient(url, max_pages=25) as client:
        checks = reconcile(harbor_db, client)
    assert [(c.status, c.exit_code) for c in checks] == [(Verdict.FAIL, ExitCode.ENDPOINT_PROTOCOL)]
    assert "more than 25 pages" in checks[0].message
    assert 25 <= server.hits <= 26


@pytest.mark.integration
def test_basic_auth_registry_and_wrong_basic_password(harbor_db, serve):
    repos = {n: ["1"] for n in ("library/alpine", "library/busybox", "dev/tool", "library/misfiled")}
    url, server = serve(hf.FakeRegistryHandler, basic=("admin", "pw"), repos=repos)
    checks = by_name(verify_registry(harbor_db, url, username="admin", password="pw"))
    assert "Basic auth" in checks["registry.api"].message
    assert checks["registry.catalog"].data["matched"] == 4
    assert checks["registry.only_in_storage"].status is Verdict.OK
    bad = verify_registry(harbor_db, url, username="admin", password="nope")
    assert bad[-1].exit_code == ExitCode.ENDPOINT_AUTH and "refused the credentials" in bad[-1].message


def test_transient_503_is_retried(serve):
    url, server = serve(hf.FakeRegistryHandler, fail_first=2, repos={"a/b": ["1", "2"]})
    with RegistryClient(url, backoff=0.01) as client:
        assert list(client.repositories()) == ["a/b"]
        assert client.http.retried == 2
        assert dict(client.tag_counts(["a/b"])) == {"a/b": 2}


def test_persistent_500_and_503_map_to_protocol_and_unreachable(serve):
    url, server = serve(hf.FakeRegistryHandler, mode="error")
    with RegistryClient(url, backoff=0.01, retries=2) as client:
        with pytest.raises(MigratorError) as info:
            client.check_api()
    assert info.value.exit_code == ExitCode.ENDPOINT_PROTOCOL and "HTTP 500 (3 attempts)" in info.value.message
    assert len(server.recorder.paths) == 3
    url, _ = serve(hf.FakeRegistryHandler, mode="unavailable")
    checks = verify_registry(None, url, timeout=2)
    assert checks[0].exit_code == ExitCode.ENDPOINT_UNREACHABLE and "HTTP 503" in checks[0].message


def test_answer_slower_than_the_timeout(serve):
    url, _ = serve(hf.FakeRegistryHandler, mode="slow", delay=3.0)
    started = time.monotonic()
    checks = verify_registry(None, url, timeout=0.5)
    assert checks[0].exit_code == ExitCode.ENDPOINT_UNREACHABLE and "within 0.5s" in checks[0].message
    assert time.monotonic() - started < 2.5


def test_concurrency_is_bounded_and_names_are_pulled_lazily(serve):
    url, server = serve(hf.FakeRegistryHandler, repos={})
    pulled = itertools.count()

    def names():
        for i in itertools.count():
            next(pulled)
            yield f"p/r{i}"

    with RegistryClient(url, concurrency=2) as client:
        client.check_api()
        stream = client.tag_counts(names())
        first = list(itertools.islice(stream, 5))
        stream.close()
    assert [n for n, _ in first] and all(c == 0 for _, c in first)
    # 2 workers × 2 batches waiting × 1 name per batch (no token auth), plus the one being added.
    assert next(pulled) <= 5 + 2 * 2 + 2


@pytest.mark.integration
def test_database_without_harbor_tables(empty_db, serve):
    url, _ = serve(hf.FakeRegistryHandler, repos={"a/b": ["1"]})
    checks = verify_registry(empty_db, url)
    assert checks[-1].exit_code == ExitCode.NOT_HARBOR and "`project`" in checks[-1].message
