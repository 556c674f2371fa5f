"""The core API side of verification: does the running Harbor 1.5.2 show the upgraded data?

Harbor's UI reads the tables we rewrote; if its API lists the same projects,
repositories and members as the database, the upgrade is visible to users as
well as present on disk (harbor-facts §6). Run it after Harbor's first start:
that start already reconciled ``repository`` with the registry.

Authentication is HTTP Basic with a system administrator: anyone else sees
only public projects, and wrong credentials silently become anonymous, so the
caller's identity is checked (``/api/users/current``) before anything is
counted.

After the move, a Harbor 1.6.x core is compared with the PostgreSQL target
(``expected_version="v1.6"``, rows from ``HarborRows.postgres_target``): the
paths, parameters and fields read here are the same in swagger-1.6.0.yaml (its
Project and User turn ``deleted`` into a boolean, which is not read).
"""
from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Callable

from ..verdicts import Check, Verdict
from ..errors import EndpointAuth, EndpointProtocol, ExitCode, MigratorError
from .harbor_rows import HarborRows
from .http import HttpClient, failed, json_body, next_link, redact_url

EXPECTED_VERSION_PREFIX = "v1.5"
# Swagger 1.5.2 documents 100 as the largest page; the server accepts up to 500.
# 100 is safe on both readings and keeps each answer small.
PAGE_SIZE = 100
SAMPLE = 20


def _api_base(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    return url[: -len("/api")] if url.endswith("/api") else url


def _raise_for(resp, what: str, *, username: str | None = None) -> None:
    if resp.status_code == 401:
        raise EndpointAuth(f"Harbor refused the credentials of {username!r} for {what}: check the user name and "
                           "password of a Harbor system administrator")
    if resp.status_code == 403:
        raise EndpointAuth(f"{username!r} may not read {what}: use a Harbor system administrator")
    if resp.status_code == 404:
        raise EndpointProtocol(f"{redact_url(resp.url)} not found: point at Harbor's UI URL "
                               "(https://harbor.example.com), not the registry or adminserver")
    if resp.status_code != 200:
        raise EndpointProtocol(f"Harbor answered HTTP {resp.status_code} for {what}: check the UI's logs")


def paged(http: HttpClient, path: str, what: str, params: dict[str, Any] | None = None, *,
          page_size: int = PAGE_SIZE, username: str | None = None, max_pages: int = 100_000
          ) -> tuple[list[dict], int | None]:
    """All items of a paginated list, following ``Link: rel="next"`` (or ``page`` up to ``X-Total-Count``).

    Stops with EndpointProtocol when the server pages forever or returns more
    items than it counts.
    """
    page = 1
    query: dict[str, Any] | None = {**(params or {}), "page": page, "page_size": page_size}
    url = path
    items: list[dict] = []
    total: int | None = None
    seen: set[str] = set()
    pages = 0
    while True:
        resp = http.get(url, params=query)
        _raise_for(resp, what, username=username)
        body = json_body(resp, f"Harbor's {what}")
        if body is None:
            body = []      # Go encodes an empty slice as null
        if not isinstance(body, list) or not all(isinstance(i, dict) for i in body):
            raise EndpointProtocol(f"Harbor's {what} is not a JSON list of objects: check the URL")
        pages += 1
        items.extend(body)
        header = resp.headers.get("X-Total-Count")
        if header is not None:
            try:
                total = int(header)
            except ValueError:
                raise EndpointProtocol(f"Harbor's {what}: X-Total-Count {header!r} is not a number") from None
        if total is not None and len(items) > total:
            raise EndpointProtocol(f"Harbor's {what} returned more items than its X-Total-Count ({total}): "
                                   "it ignores the page parameters; check the URL")
        limit = max_pages if total is None or not body else min(max_pages, math.ceil(total / len(body)) + 2)
        link = next_link(resp)
        if link:
            if not body or link in seen:
                raise EndpointProtocol(f"Harbor's {what} pages forever (repeated or empty page with a next link)")
            seen.add(link)
            url, query = link if "://" in link else http.url(link), None
        elif total is not None and len(items) < total and body:
            page += 1
            url, query = path, {**(params or {}), "page": page, "page_size": page_size}
        else:
            return items, total
        if pages >= limit:
            raise EndpointProtocol(f"Harbor's {what} has more than {limit} pages for {total} items: stopping")


def _sample(lines: list[str]) -> list[str]:
    return lines[:SAMPLE] + ([f"… and {len(lines) - SAMPLE} more"] if len(lines) > SAMPLE else [])


class _Verifier:
    def __init__(self, rows: HarborRows, http: HttpClient, username: str, expected_version: str):
        self.rows = rows
        self.http = http
        self.username = username
        self.expected = expected_version
        self.release = {"v1.5": "1.5.2", "v1.6": "1.6.0"}.get(expected_version, expected_version.lstrip("v"))
        self.projects: list[dict] = []       # live projects as the API lists them

    def systeminfo(self) -> Check:
        resp = self.http.get("/api/systeminfo")
        _raise_for(resp, "/api/systeminfo", username=self.username)
        info = json_body(resp, "Harbor's /api/systeminfo")
        if not isinstance(info, dict) or "harbor_version" not in info:
            raise EndpointProtocol(f"{redact_url(resp.url)} has no harbor_version: not Harbor's core API; "
                                   "point at Harbor's UI URL")
        version = str(info.get("harbor_version"))
        data = {k: info.get(k) for k in ("harbor_version", "auth_mode", "registry_url", "read_only") if k in info}
        if not version.strip():
            # A ui image built without /harbor/UIVERSION answers '' (harbor-facts §6): the version
            # cannot be confirmed, which is not evidence of a wrong one; the checks below still run.
            return Check("harbor.systeminfo", Verdict.WARN,
                         "Harbor reports an empty version (a build without /harbor/UIVERSION): cannot confirm it "
                         f"is {self.expected}.x; check the ui image's tag (auth_mode "
                         f"{info.get('auth_mode')})", data=data)
        if not version.startswith(self.expected):
            return Check("harbor.systeminfo", Verdict.FAIL,
                         f"Harbor reports version {version!r}, expected {self.expected}.x: point at the "
                         f"upgraded Harbor {self.release}", data=data, exit_code=int(ExitCode.VERIFY_FAILED))
        return Check("harbor.systeminfo", Verdict.OK,
                     f"Harbor {version} (auth_mode {info.get('auth_mode')})", data=data)

    def current_user(self) -> Check:
        resp = self.http.get("/api/users/current")
        _raise_for(resp, "/api/users/current", username=self.username)
        user = json_body(resp, "Harbor's /api/users/current")
        if not isinstance(user, dict):
            raise EndpointProtocol("Harbor's /api/users/current is not a JSON object: check the URL")
        if not user.get("has_admin_role"):   # an int in swagger, a bool in some builds
            raise EndpointAuth(f"{self.username!r} is not a Harbor system administrator, so the API hides private "
                               "projects: verify with an administrator account")
        return Check("harbor.user", Verdict.OK, f"{user.get('username', self.username)!r} is a system administrator")

    def projects_check(self) -> Check:
        items, total = paged(self.http, "/api/projects", "project list", username=self.username)
        self.projects = items
        db_rows = self.rows.live_project_ids()
        repo_counts = self.rows.repository_counts()
        api = {}
        for p in items:
            if "name" not in p or "project_id" not in p:
                raise EndpointProtocol("Harbor's project list items lack name/project_id: not Harbor 1.5's API")
            api[str(p["name"])] = p
        diffs = []
        if total is not None and total != len(db_rows):
            diffs.append(f"X-Total-Count: API {total}, database {len(db_rows)} projects with deleted=0")
        for name in sorted(set(api) - set(db_rows)):
            diffs.append(f"{name}: only in the API (project_id {api[name].get('project_id')})")
        for name in sorted(set(db_rows) - set(api)):
            diffs.append(f"{name}: only in the database (project_id {db_rows[name]})")
        for name in sorted(set(api) & set(db_rows)):
            p, pid = api[name], db_rows[name]
            if int(p["project_id"]) != pid:
                diffs.append(f"{name}: project_id API {p['project_id']}, database {pid}")
            if "repo_count" in p and int(p["repo_count"] or 0) != int(repo_counts.get(pid, 0)):
                diffs.append(f"{name}: repo_count API {p['repo_count']}, database {repo_counts.get(pid, 0)}")
        data = {"api": len(api), "database": len(db_rows), "x_total_count": total}
        if diffs:
            return Check("harbor.projects", Verdict.FAIL,
                         f"{len(diffs)} project differences between the API and the database: Harbor does not "
                         "run on the database verified, or the upgrade lost rows",
                         details=_sample(diffs), data={**data, "differences": diffs[:1000]},
                         exit_code=int(ExitCode.VERIFY_FAILED))
        return Check("harbor.projects", Verdict.OK, f"{len(api)} projects, as in the database", data=data)

    def _db_project_ids(self) -> dict[str, int]:
        return self.rows.live_project_ids()

    def repositories_check(self) -> Check:
        db_repos: dict[int, set[str]] = defaultdict(set)
        for name, pid in self.rows.repository_names():
            db_repos[pid].add(name)
        ids = self._db_project_ids()
        diffs, compared = [], 0
        for p in self.projects:
            pname, api_id = str(p["name"]), int(p["project_id"])
            items, total = paged(self.http, "/api/repositories", f"repositories of {pname!r}",
                                 {"project_id": api_id}, username=self.username)
            names = {str(r.get("name")) for r in items}
            ours = db_repos.get(ids.get(pname, api_id), set())
            compared += len(names)
            if total is not None and total != len(ours):
                diffs.append(f"{pname}: X-Total-Count API {total}, database {len(ours)} rows")
            for n in sorted(names - ours):
                diffs.append(f"{pname}: {n} only in the API")
            for n in sorted(ours - names):
                diffs.append(f"{pname}: {n} only in the database")
        if diffs:
            return Check("harbor.repositories", Verdict.FAIL,
                         f"{len(diffs)} repository differences between the API and the database "
                         "(Harbor reconciles with the registry at start: run this after that)",
                         details=_sample(diffs), data={"differences": diffs[:1000]},
                         exit_code=int(ExitCode.VERIFY_FAILED))
        return Check("harbor.repositories", Verdict.OK,
                     f"{compared} repositories in {len(self.projects)} projects, as in the database",
                     data={"repositories": compared})

    def members_check(self) -> Check:
        # The API omits members whose user is deleted (§6), so the rows leave them out too.
        db_members: dict[int, dict[int, tuple[str, int]]] = defaultdict(dict)
        for pid, uid, uname, role in self.rows.user_members():
            db_members[pid][uid] = (uname, role)
        ids = self._db_project_ids()
        diffs, compared, groups = [], 0, 0
        for p in self.projects:
            pname, api_id = str(p["name"]), int(p["project_id"])
            resp = self.http.get(f"/api/projects/{api_id}/members")
            _raise_for(resp, f"members of {pname!r}", username=self.username)
            items = json_body(resp, f"Harbor's members of {pname!r}") or []
            if not isinstance(items, list):
                raise EndpointProtocol(f"Harbor's members of {pname!r} are not a JSON list: check the URL")
            api: dict[int, tuple[str, int]] = {}
            for m in items:
                if not isinstance(m, dict) or "entity_id" not in m or "role_id" not in m:
                    raise EndpointProtocol("Harbor's member items lack entity_id/role_id: not Harbor 1.5's API")
                if m.get("entity_type", "u") != "u":
                    groups += 1
                    continue
                api[int(m["entity_id"])] = (str(m.get("entity_name")), int(m["role_id"]))
            ours = db_members.get(ids.get(pname, api_id), {})
            compared += len(api)
            for uid in sorted(set(api) - set(ours)):
                diffs.append(f"{pname}: member {api[uid][0]} (user {uid}, role_id {api[uid][1]}) only in the API")
            for uid in sorted(set(ours) - set(api)):
                diffs.append(f"{pname}: member {ours[uid][0]} (user {uid}, role {ours[uid][1]}) only in the database")
            for uid in sorted(set(api) & set(ours)):
                (an, ar), (dn, dr) = api[uid], ours[uid]
                if ar != dr:
                    diffs.append(f"{pname}: member {dn} (user {uid}) role_id API {ar}, database {dr}")
                if an != dn:
                    diffs.append(f"{pname}: member user {uid} entity_name API {an!r}, database {dn!r}")
        data = {"members": compared, "group_members_skipped": groups}
        if diffs:
            return Check("harbor.members", Verdict.FAIL,
                         f"{len(diffs)} project member differences between the API and the database",
                         details=_sample(diffs), data={**data, "differences": diffs[:1000]},
                         exit_code=int(ExitCode.VERIFY_FAILED))
        return Check("harbor.members", Verdict.OK,
                     f"{compared} user memberships in {len(self.projects)} projects, as in the database", data=data)


def verify_harbor(db, url: str, *, username: str, password: str, timeout: float = 10.0,
                  expected_version: str = EXPECTED_VERSION_PREFIX) -> list[Check]:
    """Compare Harbor's core API (as an administrator) with the database; failures come back as Checks.

    ``db``: a MySQL Database, or a HarborRows (``HarborRows.postgres_target`` with ``expected_version="v1.6"``).
    """
    rows = HarborRows.mysql(db)
    try:
        http = HttpClient(_api_base(url), what="the Harbor API", timeout=timeout, auth=(username, password or ""))
    except MigratorError as exc:
        return [failed("harbor.systeminfo", exc)]
    v = _Verifier(rows, http, username, expected_version)
    steps: list[tuple[str, Callable[[], Check]]] = [
        ("harbor.systeminfo", v.systeminfo),
        ("harbor.user", v.current_user),
        ("harbor.projects", v.projects_check),
        ("harbor.repositories", v.repositories_check),
        ("harbor.members", v.members_check),
    ]
    checks: list[Check] = []
    with http:
        for i, (name, step) in enumerate(steps):
            try:
                if name == "harbor.projects":
                    rows.require_members()
                checks.append(step())
            except MigratorError as exc:
                checks.append(failed(name, exc))
                checks += [Check(n, Verdict.SKIP, f"not checked: {name} failed") for n, _ in steps[i + 1:]]
                break
    return checks
