"""Core API verification against an in-process fake of Harbor 1.5.2's ``/api`` serving the test database."""
from __future__ import annotations

import json
import time
import urllib.request

import pytest

import harbor_fakes as hf
import harbor_seed
from harbor_seed import ADMIN
from migrator.verdicts import Verdict
from migrator.errors import ExitCode
from migrator.verify.harbor_api import verify_harbor

pytestmark = pytest.mark.integration

NAMES = ["harbor.systeminfo", "harbor.user", "harbor.projects", "harbor.repositories", "harbor.members"]


@pytest.fixture
def big_db(empty_db):
    """The planted rows plus 130 projects, so the project list needs two pages of 100."""
    harbor_seed.seed_standard(empty_db, extra_projects=130)
    return empty_db


@pytest.fixture
def core(serve, big_db):
    """(start, state): start(**server_attrs) serves ``state``, which mirrors big_db until a test edits it."""
    state = hf.CoreState.from_db(big_db)
    state.users["admin"]["password"] = ADMIN[1]
    state.users["alice"]["password"] = "alice-pw"

    def start(**attrs):
        return serve(hf.CoreApiHandler, state=state, **attrs)
    return start, state


def by_name(checks):
    return {c.name: c for c in checks}


def test_healthy_harbor_matches_the_database(core, big_db):
    start, _ = core
    url, server = start()
    checks = verify_harbor(big_db, url + "/api/", username=ADMIN[0], password=ADMIN[1])
    assert [(c.name, c.status) for c in checks] == [(n, Verdict.OK) for n in NAMES], [c.line() for c in checks]
    c = by_name(checks)
    assert c["harbor.systeminfo"].message.startswith("Harbor v1.5.2")
    assert c["harbor.projects"].data == {"api": 132, "database": 132, "x_total_count": 132}
    assert c["harbor.repositories"].data == {"repositories": 6}
    # carol (deleted user) is a member in the table but not in the API: not a difference.
    assert c["harbor.members"].data == {"members": 134, "group_members_skipped": 0}
    project_pages = [p for p in server.recorder.paths if p.startswith("/api/projects?")]
    assert project_pages == ["/api/projects?page=1&page_size=100", "/api/projects?page=2&page_size=100"]
    # Every call but systeminfo carried Basic auth.
    assert all(h and h.startswith("Basic ") for _, h in server.recorder.auth_headers)


def test_server_capping_page_size_is_followed_by_links(core, big_db):
    start, _ = core
    url, server = start(max_page_size=40)
    checks = verify_harbor(big_db, url, username=ADMIN[0], password=ADMIN[1])
    assert all(c.status is Verdict.OK for c in checks), [c.line() for c in checks]
    assert sum(p.startswith("/api/projects?") for p in server.recorder.paths) == 4      # 132 / 40


def test_planted_differences_are_reported_per_key(core, big_db):
    start, state = core
    state.projects = [p for p in state.projects if p["name"] != "p007"]
    state.projects.append({"project_id": 999, "name": "extra", "owner_id": 1, "deleted": False, "public": False})
    state.repositories.append({"repository_id": 500, "name": "dev/new", "project_id": 2})
    state.repositories = [r for r in state.repositories if r["name"] != "library/onlydb"]
    for m in state.members:
        if (m["project_id"], m["entity_id"]) == (2, 3):
            m["role"] = 3
    state.members.append({"id": 900, "project_id": 1, "entity_id": 2, "entity_type": "u", "role": 2})
    state.members.append({"id": 901, "project_id": 1, "entity_id": 7, "entity_type": "g", "role": 3})
    state.groups[7] = "ldap-devs"
    url, _ = start()
    c = by_name(verify_harbor(big_db, url, username=ADMIN[0], password=ADMIN[1]))
    assert c["harbor.projects"].status is Verdict.FAIL
    assert c["harbor.projects"].exit_code == ExitCode.VERIFY_FAILED
    assert c["harbor.projects"].details == [
        "extra: only in the API (project_id 999)",
        "p007: only in the database (project_id 107)",
        "dev: repo_count API 3, database 2",
        "library: repo_count API 3, database 4",
    ]
    assert c["harbor.repositories"].details == ["dev: X-Total-Count API 3, database 2 rows",
                                                "dev: dev/new only in the API",
                                                "library: X-Total-Count API 3, database 4 rows",
                                                "library: library/onlydb only in the database"]
    assert c["harbor.members"].details == [
        "dev: member bob (user 3) role_id API 3, database 2",
        "library: member alice (user 2, role_id 2) only in the API",
    ]
    assert c["harbor.members"].data["group_members_skipped"] == 1


def test_wrong_password_becomes_anonymous_and_is_caught(core, big_db):
    start, _ = core
    url, _ = start()
    checks = verify_harbor(big_db, url, username=ADMIN[0], password="wrong")
    assert [(c.name, c.status) for c in checks] == [
        ("harbor.systeminfo", Verdict.OK), ("harbor.user", Verdict.FAIL), ("harbor.projects", Verdict.SKIP),
        ("harbor.repositories", Verdict.SKIP), ("harbor.members", Verdict.SKIP)]
    assert checks[1].exit_code == ExitCode.ENDPOINT_AUTH and "refused the credentials of 'admin'" in checks[1].message
    assert "wrong" not in checks[1].message


def test_non_admin_is_refused_before_counting(core, big_db):
    start, _ = core
    url, server = start()
    checks = verify_harbor(big_db, url, username="alice", password="alice-pw")
    assert checks[1].exit_code == ExitCode.ENDPOINT_AUTH and "not a Harbor system administrator" in checks[1].message
    assert not any(p.startswith("/api/projects") for p in server.recorder.paths)


def test_other_version_fails_but_the_rest_still_runs(core, big_db):
    start, state = core
    state.version = "v1.4.0-abc"
    url, _ = start()
    checks = verify_harbor(big_db, url, username=ADMIN[0], password=ADMIN[1])
    assert checks[0].status is Verdict.FAIL and checks[0].exit_code == ExitCode.VERIFY_FAILED
    assert "'v1.4.0-abc'" in checks[0].message
    assert [c.status for c in checks[1:]] == [Verdict.OK] * 4


def test_empty_version_is_a_warning_not_a_failure(core, big_db):
    start, state = core
    state.version = ""        # a ui image built without /harbor/UIVERSION
    url, server = start()
    checks = verify_harbor(big_db, url, username=ADMIN[0], password=ADMIN[1])
    info = checks[0]
    assert info.status is Verdict.WARN and info.exit_code is None, info.line()
    assert "empty version" in info.message and "cannot confirm" in info.message
    assert info.data["harbor_version"] == ""
    assert [c.status for c in checks[1:]] == [Verdict.OK] * 4
    # The fake answers as Harbor does: the key present, its value empty.
    with urllib.request.urlopen(url + "/api/systeminfo", timeout=5) as resp:
        assert json.load(resp)["harbor_version"] == ""


def test_server_error(core, big_db):
    start, _ = core
    url, server = start(mode="error")
    checks = verify_harbor(big_db, url, username=ADMIN[0], password=ADMIN[1])
    assert checks[0].exit_code == ExitCode.ENDPOINT_PROTOCOL and "HTTP 500" in checks[0].message
    assert [c.status for c in checks[1:]] == [Verdict.SKIP] * 4
    assert len(server.recorder.paths) == 4


def test_answer_slower_than_the_timeout(core, big_db):
    start, _ = core
    url, _ = start(mode="slow", delay=3.0)
    started = time.monotonic()
    checks = verify_harbor(big_db, url, username=ADMIN[0], password=ADMIN[1], timeout=0.5)
    assert checks[0].exit_code == ExitCode.ENDPOINT_UNREACHABLE
    assert time.monotonic() - started < 2.5


def test_pagination_that_never_ends(core, big_db):
    start, _ = core
    url, _ = start(loop_pages=True)
    c = by_name(verify_harbor(big_db, url, username=ADMIN[0], password=ADMIN[1]))
    assert c["harbor.projects"].exit_code == ExitCode.ENDPOINT_PROTOCOL
    assert "pages forever" in c["harbor.projects"].message


def test_unreachable_and_not_harbor(big_db, closed_port_url, directory_server):
    checks = verify_harbor(big_db, closed_port_url, username=ADMIN[0], password=ADMIN[1])
    assert checks[0].exit_code == ExitCode.ENDPOINT_UNREACHABLE
    checks = verify_harbor(big_db, directory_server, username=ADMIN[0], password=ADMIN[1])
    assert checks[0].exit_code == ExitCode.ENDPOINT_PROTOCOL and "Harbor's UI URL" in checks[0].message


def test_database_not_yet_upgraded(serve, empty_db):
    harbor_seed.create_tables(empty_db, ("user", "project", "repository"))
    empty_db.execute("CREATE TABLE project_member (project_id int NOT NULL, user_id int NOT NULL, role int NOT NULL)")
    state = hf.CoreState()
    state.users["admin"] = {"user_id": 1, "password": ADMIN[1], "sysadmin": True, "deleted": False}
    url, _ = serve(hf.CoreApiHandler, state=state)
    c = by_name(verify_harbor(empty_db, url, username=ADMIN[0], password=ADMIN[1]))
    assert c["harbor.projects"].exit_code == ExitCode.UNKNOWN_VERSION
    assert "run the upgrade first" in c["harbor.projects"].message
