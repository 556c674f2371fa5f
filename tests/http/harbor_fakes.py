"""In-process fakes of Harbor 1.5.2's adminserver and core API, and of odd registries.

Harbor's Go servers cannot run here (docs/test-infra.md), so these follow
``harbor-reference/api/swagger-1.5.2.yaml`` and harbor-facts §5–§7 exactly:
paths, the ``Authorization: Harbor-Secret <secret>`` header, JSON field
names, ``X-Total-Count`` and ``Link`` pagination headers, Basic auth that
silently becomes anonymous when wrong. Each fake has a ``mode``:
``ok``, ``error`` (HTTP 500), ``unavailable`` (503), ``slow`` (sleeps
``delay`` seconds before answering).

A 1.6.0 mode (``release="1.6.0"`` on the core server, ``adminserver_config_160``)
follows ``swagger-1.6.0.yaml`` and ``cfg/adminserver-env-1.6.0`` instead: the same
paths and pagination; Project and User carry ``deleted`` as a boolean; GeneralInfo
has exactly its 1.6.0 fields; the adminserver's database is ``postgresql`` with
``postgresql_*`` keys, and ``CoreState.from_pg`` reads the moved PostgreSQL rows.
"""
from __future__ import annotations

import base64
import http.server
import re
import threading
import time
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from registry_harness import QuietHandler


class Recorder:
    """What a fake saw: request paths and the Authorization headers, for assertions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.paths: list[str] = []
        self.auth_headers: list[tuple[str, str | None]] = []

    def add(self, path: str, auth: str | None) -> None:
        with self.lock:
            self.paths.append(path)
            self.auth_headers.append((path, auth))


class FakeBase(QuietHandler):
    """Common behaviour: modes, recording, JSON answers."""

    def _pre(self) -> bool:
        srv = self.server
        srv.recorder.add(self.path, self.headers.get("Authorization"))
        mode = getattr(srv, "mode", "ok")
        if mode == "slow":
            time.sleep(srv.delay)
        elif mode == "error":
            self.send_json(500, {"code": 500, "message": "internal error"})
            return False
        elif mode == "unavailable":
            self.send_json(503, {"message": "service unavailable"})
            return False
        return True

    def send_text(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


# ---------------------------------------------------------------------------
# Adminserver (§5.1)
# ---------------------------------------------------------------------------
def adminserver_config(**overrides: Any) -> dict[str, Any]:
    """What a healthy 1.5.2 adminserver serves: every §5.4 key, secrets decrypted (plaintext)."""
    config: dict[str, Any] = {
        "ext_endpoint": "https://harbor.example.com", "auth_mode": "db_auth", "self_registration": True,
        "database_type": "mysql", "mysql_host": "127.0.0.1", "mysql_port": 3306, "mysql_username": "harbor",
        "mysql_password": "PLAIN-mysql-Secret-1", "mysql_database": "registry", "sqlite_file": "",
        "ldap_url": "", "ldap_search_dn": "", "ldap_search_password": "PLAIN-ldap-Secret-2", "ldap_base_dn": "",
        "ldap_filter": "", "ldap_uid": "uid", "ldap_scope": 2, "ldap_timeout": 5, "ldap_verify_cert": True,
        "ldap_group_base_dn": "", "ldap_group_search_filter": "", "ldap_group_attribute_name": "",
        "ldap_group_search_scope": "2",   # written as a number, read back as a string (§5.2)
        "email_host": "smtp.mydomain.com", "email_port": 25, "email_username": "sample_admin@mydomain.com",
        "email_password": "PLAIN-email-Secret-3", "email_ssl": False, "email_insecure": False,
        "email_from": "admin <sample_admin@mydomain.com>", "email_identity": "",
        "registry_url": "http://registry:5000", "token_expiration": 30, "cfg_expiration": 5,
        "max_job_workers": 50, "project_creation_restriction": "everyone",
        "admin_initial_password": "PLAIN-admin-Secret-4", "admiral_url": "NA", "with_notary": False,
        "with_clair": False, "clair_db_password": "PLAIN-clair-Secret-5", "clair_db": "postgres",
        "clair_db_username": "postgres", "clair_db_host": "postgres", "clair_db_port": 5432,
        "uaa_endpoint": "", "uaa_client_id": "", "uaa_client_secret": "PLAIN-uaa-Secret-6", "uaa_verify_cert": True,
        "ui_url": "http://ui:8080", "jobservice_url": "http://jobservice:8080",
        "token_service_url": "http://ui:8080/service/token", "clair_url": "http://clair:6060",
        "notary_url": "http://notary-server:4443", "registry_storage_provider_name": "filesystem",
        "read_only": False, "reload_key": "", "scan_all_policy": {"type": "daily", "parameter": {"daily_time": 0}},
    }
    config.update(overrides)
    return config


def adminserver_config_160(target, **overrides: Any) -> dict[str, Any]:
    """What a healthy 1.6.0 adminserver serves for a PostgreSQL ``target`` (PgSettings): DATABASE_TYPE and
    POSTGRESQL_* of its env as keys, no mysql_* (the 1.6.0 env has none); the other keys as in 1.5.2."""
    config = {k: v for k, v in adminserver_config().items() if not k.startswith("mysql_")}
    config.update({"database_type": "postgresql", "postgresql_host": target.host, "postgresql_port": target.port,
                   "postgresql_username": target.user, "postgresql_password": "PLAIN-mysql-Secret-1",
                   "postgresql_database": target.database})
    config.update(overrides)
    return config


SECRET_VALUES = ("PLAIN-mysql-Secret-1", "PLAIN-ldap-Secret-2", "PLAIN-email-Secret-3", "PLAIN-admin-Secret-4",
                 "PLAIN-clair-Secret-5", "PLAIN-uaa-Secret-6")


class AdminserverHandler(FakeBase):
    """``/api/ping`` (no auth) and ``/api/configurations`` (Harbor-Secret) of the 1.5.2 adminserver."""

    def do_GET(self) -> None:
        srv = self.server
        path = urlparse(self.path).path
        if path == "/api/ping":
            srv.recorder.add(self.path, self.headers.get("Authorization"))
            return self.send_json(200, "Pong")
        if not self._pre():
            return
        if path == "/api/configurations":
            # Literal prefix "Harbor-Secret" plus one space; UI_SECRET or JOBSERVICE_SECRET.
            header = self.headers.get("Authorization", "")
            if header not in {f"Harbor-Secret {s}" for s in srv.secrets}:
                return self.send_text(401, "Unauthorized")
            return self.send_json(200, srv.config)
        if path == "/api/systeminfo/capacity":
            return self.send_json(200, {"total": 100, "free": 50})
        self.send_text(404, "404 page not found")


# ---------------------------------------------------------------------------
# Core (UI) API (§6)
# ---------------------------------------------------------------------------
class CoreState:
    """The rows the fake's API serves, shaped like the tables Harbor reads."""

    def __init__(self) -> None:
        # The ui's /harbor/UIVERSION; '' is what a build without that file reports: the key is still
        # there (GeneralInfo.harbor_version, a string in swagger 1.5.2), its value empty.
        self.version = "v1.5.2-829ed2a6"
        self.users: dict[str, dict] = {}          # username → {user_id, password, sysadmin, deleted}
        self.projects: list[dict] = []            # {project_id, name, owner_id, deleted, public}
        self.repositories: list[dict] = []        # {repository_id, name, project_id}
        self.members: list[dict] = []             # {id, project_id, entity_id, entity_type, role}
        self.groups: dict[int, str] = {}

    @classmethod
    def from_db(cls, db) -> "CoreState":
        """What Harbor 1.5.2 would serve when it runs on ``db`` (passwords set by the caller)."""
        s = cls()
        for uid, name, deleted, admin in db.query("SELECT user_id, username, deleted, sysadmin_flag FROM `user`"):
            s.users[name] = {"user_id": uid, "password": None, "sysadmin": bool(admin), "deleted": bool(deleted)}
        public = {pid for pid, in db.query(
            "SELECT project_id FROM project_metadata WHERE name = 'public' AND value = 'true' AND deleted = 0")}
        for pid, name, owner, deleted in db.query("SELECT project_id, name, owner_id, deleted FROM project"):
            s.projects.append({"project_id": pid, "name": name, "owner_id": owner, "deleted": bool(deleted),
                               "public": pid in public})
        for rid, name, pid in db.query("SELECT repository_id, name, project_id FROM repository"):
            s.repositories.append({"repository_id": rid, "name": name, "project_id": pid})
        for mid, pid, eid, etype, role in db.query(
                "SELECT id, project_id, entity_id, entity_type, role FROM project_member"):
            s.members.append({"id": mid, "project_id": pid, "entity_id": eid, "entity_type": etype, "role": role})
        return s

    @classmethod
    def from_pg(cls, pg) -> "CoreState":
        """What Harbor 1.6.0 would serve when it runs on the moved PostgreSQL database ``pg``."""
        s = cls()
        s.version = "v1.6.0-a9cc7a55"
        for uid, name, deleted, admin in pg.query(
                "SELECT user_id, username, deleted, sysadmin_flag FROM harbor_user"):
            s.users[name] = {"user_id": uid, "password": None, "sysadmin": bool(admin), "deleted": bool(deleted)}
        public = {pid for pid, in pg.query(
            "SELECT project_id FROM project_metadata WHERE name = 'public' AND value = 'true' AND NOT deleted")}
        for pid, name, owner, deleted in pg.query("SELECT project_id, name, owner_id, deleted FROM project"):
            s.projects.append({"project_id": pid, "name": name, "owner_id": owner, "deleted": bool(deleted),
                               "public": pid in public})
        for rid, name, pid in pg.query("SELECT repository_id, name, project_id FROM repository"):
            s.repositories.append({"repository_id": rid, "name": name, "project_id": pid})
        for mid, pid, eid, etype, role in pg.query(
                "SELECT id, project_id, entity_id, entity_type, role FROM project_member"):
            s.members.append({"id": mid, "project_id": pid, "entity_id": eid, "entity_type": etype, "role": role})
        return s


ROLE_NAMES = {1: "projectAdmin", 2: "developer", 3: "guest"}


class CoreApiHandler(FakeBase):
    """The parts of Harbor 1.5.2's ``/api`` that verification reads."""

    # -- security: Basic, else anonymous (never 401 for bad credentials, as Harbor) --
    def _user(self) -> dict | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        try:
            name, _, pw = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            return None
        u = self.server.state.users.get(name)
        if u and not u["deleted"] and u["password"] is not None and u["password"] == pw:
            return {"name": name, **u}
        return None

    def _page(self, q: dict) -> tuple[int, int]:
        try:
            page = int(q.get("page", ["1"])[0])
            size = int(q.get("page_size", [str(self.server.default_page_size)])[0])
        except ValueError:
            return -1, -1
        return max(page, 1), min(max(size, 1), self.server.max_page_size)

    def _send_page(self, items: list, q: dict, path: str) -> None:
        page, size = self._page(q)
        if page < 0:
            return self.send_json(400, {"code": 400, "message": "invalid page"})
        total = len(items)
        chunk = items[(page - 1) * size: page * size]
        links = []
        loop = getattr(self.server, "loop_pages", False)

        def link(p: int, rel: str) -> str:
            qq = {k: v[0] for k, v in q.items()}
            qq.update({"page": str(p), "page_size": str(size)})
            return f'<{path}?{urlencode(qq)}>; rel="{rel}"'

        if page > 1:
            links.append(link(page - 1, "prev"))
        if page * size < total:
            links.append(link(page + 1, "next"))
        elif loop:
            links.append(link(page, "next"))       # a broken server: "next" is this page again
        headers = {"X-Total-Count": str(total)}
        if links:
            headers["Link"] = ", ".join(links)
        self.send_json(200, chunk, headers)

    def do_GET(self) -> None:
        if not self._pre():
            return
        st: CoreState = self.server.state
        url = urlparse(self.path)
        q = parse_qs(url.query)
        path = url.path
        user = self._user()
        admin = bool(user and user["sysadmin"])
        if path == "/api/ping":
            return self.send_json(200, "Pong")
        v160 = getattr(self.server, "release", "1.5.2") == "1.6.0"
        if path == "/api/systeminfo" and v160:     # GeneralInfo of swagger 1.6.0, field for field
            return self.send_json(200, {
                "with_notary": False, "with_clair": False, "with_admiral": False, "admiral_endpoint": "NA",
                "auth_mode": "db_auth", "project_creation_restriction": "everyone", "self_registration": True,
                "has_ca_root": False, "harbor_version": st.version, "next_scan_all": 0})
        if path == "/api/systeminfo":
            return self.send_json(200, {
                "with_notary": False, "with_clair": False, "with_admiral": False, "admiral_endpoint": "NA",
                "auth_mode": "db_auth", "project_creation_restriction": "everyone", "self_registration": True,
                "has_ca_root": False, "harbor_version": st.version, "next_scan_all": 0,
                "registry_url": "harbor.example.com", "registry_storage_provider_name": "filesystem",
                "read_only": False})
        if path == "/api/users/current":
            if user is None:
                return self.send_text(401, "UnAuthorize")
            return self.send_json(200, {
                "user_id": user["user_id"], "username": user["name"], "email": f"{user['name']}@example.com",
                "password": "", "realname": user["name"], "comment": "", "deleted": False if v160 else 0,
                "role_name": "",
                "role_id": 0, "has_admin_role": 1 if user["sysadmin"] else 0, "reset_uuid": "", "Salt": "",
                "creation_time": "2018-06-01T00:00:00Z", "update_time": "2018-06-01T00:00:00Z"})
        live = [p for p in st.projects if not p["deleted"]]
        visible = live if admin else [p for p in live if p["public"]]
        if path == "/api/projects":
            owners = {u["user_id"]: n for n, u in st.users.items()}
            items = [{
                "project_id": p["project_id"], "owner_id": p["owner_id"], "name": p["name"],
                "creation_time": "2018-06-01T00:00:00Z", "update_time": "2018-06-01T00:00:00Z",
                "deleted": False if v160 else 0,
                "owner_name": owners.get(p["owner_id"], ""),
                "repo_count": sum(1 for r in st.repositories if r["project_id"] == p["project_id"]),
                "current_user_role_id": 1 if admin else 0, "togglable": admin,
                "metadata": {"public": "true" if p["public"] else "false"},
            } for p in sorted(visible, key=lambda p: p["name"])]
            return self._send_page(items, q, path)
        if path == "/api/repositories":
            if "project_id" not in q:
                return self.send_json(400, {"code": 400, "message": "invalid project_id"})
            try:
                pid = int(q["project_id"][0])
            except ValueError:
                return self.send_json(400, {"code": 400, "message": "invalid project_id"})
            project = next((p for p in live if p["project_id"] == pid), None)
            if project is None:
                return self.send_json(404, {"code": 404, "message": f"project {pid} not found"})
            if project not in visible:
                return self.send_json(401 if user is None else 403, {"code": 403, "message": "forbidden"})
            items = [{"id": r["repository_id"], "name": r["name"], "project_id": pid, "description": "",
                      "pull_count": 0, "star_count": 0, "tags_count": 1, "labels": [],
                      "creation_time": "2018-06-01T00:00:00Z", "update_time": "2018-06-01T00:00:00Z"}
                     for r in sorted(st.repositories, key=lambda r: r["name"]) if r["project_id"] == pid]
            return self._send_page(items, q, path)
        m = re.fullmatch(r"/api/projects/(\d+)/members", path)
        if m:
            pid = int(m.group(1))
            project = next((p for p in live if p["project_id"] == pid), None)
            if project is None:
                return self.send_json(404, {"code": 404, "message": "project not found"})
            if user is None:
                return self.send_text(401, "UnAuthorize")
            names = {u["user_id"]: (n, u["deleted"]) for n, u in st.users.items()}
            items = []
            for mb in st.members:
                if mb["project_id"] != pid:
                    continue
                if mb["entity_type"] == "u":
                    name, deleted = names.get(mb["entity_id"], ("", True))
                    if deleted:
                        continue        # members whose user has deleted=1 are omitted
                else:
                    name = st.groups.get(mb["entity_id"], "")
                items.append({"id": mb["id"], "project_id": pid, "entity_id": mb["entity_id"],
                              "entity_type": mb["entity_type"], "entity_name": name, "role_id": mb["role"],
                              "role_name": ROLE_NAMES.get(mb["role"], "")})
            return self.send_json(200, items)        # not paginated
        self.send_text(404, "404 page not found")


# ---------------------------------------------------------------------------
# Registries that misbehave
# ---------------------------------------------------------------------------
class FakeRegistryHandler(FakeBase):
    """A registry v2 answering from ``server.repos`` (name → tags), with optional Basic auth.

    ``catalog`` mode: ``normal``; ``repeat`` (every page links to the same
    ``last``); ``endless`` (every page links to a new ``last``).
    ``fail_first``: that many 503s before the first real answer.
    """

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.hits += 1
            failing = srv.fail_first > 0
            if failing:
                srv.fail_first -= 1
        if failing:
            srv.recorder.add(self.path, self.headers.get("Authorization"))
            return self.send_json(503, {"errors": [{"code": "UNAVAILABLE"}]})
        if not self._pre():
            return
        v2 = {"Docker-Distribution-API-Version": "registry/2.0"}
        if srv.basic is not None:
            expected = "Basic " + base64.b64encode(f"{srv.basic[0]}:{srv.basic[1]}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                return self.send_json(401, {"errors": [{"code": "UNAUTHORIZED"}]},
                                      {**v2, "WWW-Authenticate": 'Basic realm="fake-registry"'})
        url = urlparse(self.path)
        q = parse_qs(url.query)
        if url.path == "/v2/":
            return self.send_json(200, {}, v2)
        if url.path == "/v2/_catalog":
            n = int(q.get("n", ["100"])[0])
            last = q.get("last", [""])[0]
            names = sorted(srv.repos)
            if srv.catalog == "repeat":
                return self.send_json(200, {"repositories": names[:n] or ["a/a"]},
                                      {**v2, "Link": f'</v2/_catalog?last=a%2Fa&n={n}>; rel="next"'})
            if srv.catalog == "endless":
                k = int(last.rsplit("-", 1)[-1]) + 1 if last else 0
                return self.send_json(200, {"repositories": [f"p/r-{k}"]},
                                      {**v2, "Link": f'</v2/_catalog?last=p%2Fr-{k}&n={n}>; rel="next"'})
            page = [r for r in names if r > last][:n]
            headers = dict(v2)
            if len(page) == n:
                headers["Link"] = f'</v2/_catalog?{urlencode({"last": page[-1], "n": n})}>; rel="next"'
            return self.send_json(200, {"repositories": page}, headers)
        m = re.fullmatch(r"/v2/(.+)/tags/list", url.path)
        if m:
            name = m.group(1)
            if name not in srv.repos:
                return self.send_json(404, {"errors": [{"code": "NAME_UNKNOWN"}]}, v2)
            return self.send_json(200, {"name": name, "tags": srv.repos[name]}, v2)
        self.send_json(404, {"errors": [{"code": "NOT_FOUND"}]}, v2)


class HtmlEverywhereHandler(QuietHandler):
    """A web server that answers 200 with an HTML page for any path (a UI, a captive portal)."""

    def do_GET(self) -> None:
        data = b"<html><body>Welcome</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class DirectoryHandler(http.server.SimpleHTTPRequestHandler):
    """Python's plain file server: a real HTTP server that is not a registry."""

    def log_message(self, *args) -> None:
        pass


def fake_server_attrs(**kw: Any) -> dict[str, Any]:
    """Defaults every fake handler reads from its server."""
    attrs = {"recorder": Recorder(), "mode": "ok", "delay": 0.0, "lock": threading.Lock(), "hits": 0,
             "fail_first": 0, "basic": None, "catalog": "normal", "repos": {}, "default_page_size": 500,
             "max_page_size": 500, "loop_pages": False, "release": "1.5.2"}
    attrs.update(kw)
    return attrs


__all__ = ["AdminserverHandler", "CoreApiHandler", "CoreState", "DirectoryHandler", "FakeRegistryHandler",
           "HtmlEverywhereHandler", "Recorder", "SECRET_VALUES", "adminserver_config", "adminserver_config_160",
           "fake_server_attrs"]
