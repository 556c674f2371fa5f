"""The registry side of verification: does storage hold what the database says?

Harbor 1.5.2 keeps no tags in MySQL; at every start its UI reconciles the
``repository`` table with the registry catalog (harbor-facts §6, §7). We
compute the same view before Harbor does, so an operator sees which rows
Harbor will delete and which it will add:

    a repository *exists* when it is in the catalog, has at least one tag,
    and its first path component names a project row with deleted=0.

``RegistryClient`` speaks registry v2 with Harbor's token flow (or Basic, or
none), walks ``/v2/_catalog`` page by page and counts tags with bounded
concurrency. Memory holds repository names only: tag lists are counted and
dropped as they arrive.
"""
from __future__ import annotations

import concurrent.futures as cf
import itertools
import re
import threading
import time
from typing import Iterable, Iterator
from urllib.parse import parse_qs, quote, urljoin, urlsplit

from ..verdicts import Check, Status
from ..errors import EndpointAuth, EndpointProtocol, ExitCode, MigratorError, NotHarbor
from .http import HttpClient, failed, json_body, next_link, redact_url

CATALOG_SCOPE = "registry:catalog:*"
_PARAM = re.compile(r'([A-Za-z_][\w-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')


def parse_challenge(header: str | None) -> tuple[str, dict[str, str]]:
    """``Bearer realm="…",service="…"`` → ("bearer", {"realm": …, "service": …})."""
    if not header:
        return "", {}
    scheme, _, rest = header.strip().partition(" ")
    params = {}
    for m in _PARAM.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params.setdefault(m.group(1).lower(), re.sub(r"\\(.)", r"\1", value))
    return scheme.lower(), params


def project_of(repository: str) -> str:
    """Harbor's project of a repository: the part before the first '/', '' when there is none."""
    head, sep, _ = repository.partition("/")
    return head if sep else ""


class RegistryClient:
    """A registry v2 client for counting, never for pulling.

    ``username``/``password`` are a Harbor system administrator's: only they get
    ``registry:catalog:*``. Tags are listed by ``concurrency`` workers; with
    token auth each worker asks one token for ``scopes_per_token`` repositories
    (a Harbor token may carry several scopes), and falls back to a
    single-scope token when the registry still says 401.
    """

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 insecure: bool = False, timeout: float = 10.0, concurrency: int = 8, page_size: int = 1000,
                 max_pages: int = 100_000, scopes_per_token: int = 25, retries: int = 3, backoff: float = 0.2):
        self.http = HttpClient(url, what="the registry", timeout=timeout, insecure=insecure, retries=retries,
                               backoff=backoff, pool_size=max(10, concurrency + 2))
        self.url = self.http.base_url
        self._creds = (username, password or "") if username else None
        self.username = username
        self.concurrency = max(1, int(concurrency))
        self.page_size = max(1, int(page_size))
        self.max_pages = max(1, int(max_pages))
        self.scopes_per_token = max(1, int(scopes_per_token))
        self.auth_mode: str | None = None      # "none", "basic" or "token"
        self.realm: str | None = None
        self.service: str | None = None
        self._tokens: dict[tuple[str, ...], tuple[str, float]] = {}
        self._lock = threading.Lock()
        self.pages = 0
        self.tag_requests = 0
        self.token_requests = 0

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "RegistryClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def requests(self) -> int:
        return self.http.requests

    # -- the v2 base endpoint -------------------------------------------------------
    def check_api(self) -> str:
        """Probe ``GET /v2/``; learn the auth scheme. Returns a one-line description."""
        resp = self.http.get("/v2/")
        version = resp.headers.get("Docker-Distribution-API-Version", "")
        if resp.status_code == 200:
            if not version.startswith("registry/2") and not _is_json_object(resp):
                raise EndpointProtocol(f"{redact_url(self.url)} answers /v2/ but not like a registry v2 "
                                       "(no Docker-Distribution-API-Version header, no JSON): point at the registry, "
                                       "e.g. https://harbor.example.com or http://registry:5000")
            self.auth_mode = "none"
        elif resp.status_code == 401:
            scheme, params = parse_challenge(resp.headers.get("WWW-Authenticate"))
            if scheme == "basic" or (scheme == "bearer" and params.get("realm")):
                self._learn(resp)
            else:
                raise EndpointProtocol(f"{redact_url(self.url)}/v2/ answered 401 without a Bearer or Basic challenge: "
                                       "this is not a registry v2 (or a proxy rewrites its headers)")
        elif resp.status_code == 404:
            raise EndpointProtocol(f"{redact_url(self.url)} has no /v2/ endpoint: it is not a Docker registry v2; "
                                   "point at the registry, e.g. https://harbor.example.com or http://registry:5000")
        elif resp.status_code == 403:
            raise EndpointAuth(f"{redact_url(self.url)}/v2/ answered 403 Forbidden: check the user and that the "
                               "registry allows this client")
        else:
            raise EndpointProtocol(f"{redact_url(self.url)}/v2/ answered HTTP {resp.status_code}: not a registry v2 "
                                   "answer; check the URL")
        auth = {"none": "no auth", "basic": "Basic auth",
                "token": f"token auth (realm {redact_url(self.realm or '')}, service {self.service})"}[self.auth_mode]
        return f"registry v2 at {redact_url(self.url)} ({auth})"

    def _learn(self, resp) -> bool:
        """Adopt the auth scheme a 401 asks for; False when nothing new can be tried."""
        scheme, params = parse_challenge(resp.headers.get("WWW-Authenticate"))
        with self._lock:
            if scheme == "bearer" and params.get("realm"):
                realm = self.http.url(params["realm"])
                if (self._creds and self.url.startswith("https://") and realm.startswith("http://")):
                    raise EndpointProtocol(
                        f"the registry's token realm {redact_url(realm)} is plain http while the registry is https: "
                        "refusing to send credentials in clear; fix Harbor's ext_endpoint/ui_url_protocol")
                changed = self.auth_mode != "token" or realm != self.realm
                self.auth_mode, self.realm, self.service = "token", realm, params.get("service")
                if changed:
                    self._tokens.clear()
                return True
            if scheme == "basic":
                changed = self.auth_mode != "basic"
                self.auth_mode = "basic"
                return changed and self._creds is not None
        return False

    # -- tokens ---------------------------------------------------------------------
    def _token(self, scopes: tuple[str, ...], *, fresh: bool = False) -> str:
        cacheable = scopes == (CATALOG_SCOPE,)
        now = time.monotonic()
        if cacheable and not fresh:
            with self._lock:
                cached = self._tokens.get(scopes)
            if cached and cached[1] > now:
                return cached[0]
        params = ([("service", self.service)] if self.service else []) + [("scope", s) for s in scopes]
        resp = self.http.get(self.realm or "", params=params, auth=self._creds, use_default_auth=False)
        with self._lock:
            self.token_requests += 1
        if resp.status_code in (401, 403):
            if self._creds:
                raise EndpointAuth(f"the token service {redact_url(resp.url)} refused the credentials of "
                                   f"{self.username!r}: check the Harbor admin user name and password")
            raise EndpointAuth("the registry requires credentials: pass a Harbor system administrator's user "
                               "name and password")
        if resp.status_code != 200:
            raise EndpointProtocol(f"the token service {redact_url(resp.url)} answered HTTP {resp.status_code} "
                                   f"for service {self.service!r}: check that the realm in the registry's "
                                   "WWW-Authenticate header is Harbor's /service/token")
        body = json_body(resp, "the token service")
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise EndpointProtocol(f"the token service {redact_url(resp.url)} answered without a 'token' field: "
                                   "check that the realm is Harbor's /service/token")
        if cacheable:
            try:
                ttl = float(body.get("expires_in") or 60)
            except (TypeError, ValueError):
                ttl = 60.0
            with self._lock:
                self._tokens[scopes] = (token, now + max(1.0, ttl - 10))
        return token

    # -- authenticated GET --------------------------------------------------------------
    def _get(self, path: str, scopes: tuple[str, ...], *, params=None, token: str | None = None, denied: str = ""):
        """GET with whatever auth the registry asked for; one re-try after a 401 with a fresh token."""
        if self.auth_mode is None:
            self.check_api()
        for attempt in (1, 2):
            headers: dict[str, str] = {}
            auth = None
            if self.auth_mode == "token":
                if token is None or attempt == 2:
                    token = self._token(scopes, fresh=attempt == 2)
                headers["Authorization"] = "Bearer " + token
            elif self.auth_mode == "basic":
                auth = self._creds
            resp = self.http.get(path, params=params, headers=headers, auth=auth, use_default_auth=False)
            if resp.status_code != 401:
                return resp
            resp.close()
            before = self.auth_mode
            if attempt == 1 and (self._learn(resp) or before == "token"):
                continue
            break
        if self.auth_mode == "basic":
            if self._creds:
                raise EndpointAuth(f"the registry refused the credentials of {self.username!r}: "
                                   "check the user name and password")
            raise EndpointAuth("the registry requires credentials: pass a user name and password")
        if not self._creds:
            raise EndpointAuth("the registry requires credentials: pass a Harbor system administrator's user "
                               "name and password")
        raise EndpointAuth(denied or f"the registry refused {self.username!r} access to {path}: use a Harbor "
                                     "system administrator")

    # -- catalog ----------------------------------------------------------------------
    def repositories(self) -> Iterator[str]:
        """Every catalog name, page by page, following ``Link: <…>; rel="next"`` until it is absent."""
        url: str = "/v2/_catalog"
        params: dict | None = {"n": self.page_size}
        seen: set[str] = set()
        pages = 0
        denied = (f"user {self.username!r} may not read the registry catalog: use a Harbor system "
                  "administrator (only they get registry:catalog:*)")
        while True:
            resp = self._get(url, (CATALOG_SCOPE,), params=params, denied=denied)
            if (resp.status_code == 400 and pages == 0 and params and params.get("n", 0) > 100
                    and "PAGINATION_NUMBER_INVALID" in resp.text):
                params = {"n": 100}  # registry ≥2.8 caps n (default 1000); 100 is everyone's default
                continue
            if resp.status_code == 404:
                raise EndpointProtocol(f"{redact_url(self.url)} has no /v2/_catalog: not a registry v2 with a "
                                       "catalog; point at Harbor's registry")
            if resp.status_code != 200:
                raise EndpointProtocol(f"the registry catalog answered HTTP {resp.status_code}: check the "
                                       "registry's logs")
            body = json_body(resp, "the registry catalog")
            repos = body.get("repositories") if isinstance(body, dict) else None
            if repos is None and isinstance(body, dict) and "repositories" in body:
                repos = []
            if not isinstance(repos, list) or not all(isinstance(r, str) for r in repos):
                raise EndpointProtocol("the registry catalog did not answer {\"repositories\": [...]}: "
                                       "not a registry v2 catalog")
            pages += 1
            with self._lock:
                self.pages += 1
            yield from repos
            link = next_link(resp)
            if not link:
                return
            if not repos:
                raise EndpointProtocol("the registry catalog sent an empty page with a next link: it would page "
                                       "forever; check the registry (or a proxy in front of it)")
            cursor = parse_qs(urlsplit(link).query).get("last", [link])[0]
            if cursor in seen:
                raise EndpointProtocol(f"the registry catalog repeats the page after {cursor!r}: it would page "
                                       "forever; check the registry (or a proxy in front of it)")
            seen.add(cursor)
            if pages >= self.max_pages:
                raise EndpointProtocol(f"the registry catalog has more than {self.max_pages} pages: stopping; "
                                       "raise the page bound if the registry really holds that many repositories")
            url, params = urljoin(resp.url, link), None

    # -- tags -------------------------------------------------------------------------
    def tag_count(self, name: str, token: str | None = None) -> int:
        """Number of tags of ``name`` (0 for an emptied or unknown repository); lists are not kept."""
        url = f"/v2/{quote(name, safe='/')}/tags/list"
        scopes = (f"repository:{name}:pull",)
        denied = (f"user {self.username!r} may not pull {name!r}: use a Harbor system administrator")
        total, pages, seen = 0, 0, set()
        while True:
            resp = self._get(url, scopes, token=token, denied=denied)
            with self._lock:
                self.tag_requests += 1
            if resp.status_code == 404:
                return total       # NAME_UNKNOWN: in the catalog (layers only) but never tagged
            if resp.status_code != 200:
                raise EndpointProtocol(f"tags of {name!r} answered HTTP {resp.status_code}: check the registry's logs")
            body = json_body(resp, "the registry's tag list")
            tags = body.get("tags") if isinstance(body, dict) else "?"
            if tags is None:
                tags = []      # an emptied repository answers "tags": null
            if not isinstance(tags, list):
                raise EndpointProtocol(f"tags of {name!r}: expected {{\"tags\": [...]}}: not a registry v2 answer")
            total += len(tags)
            del body, tags
            link = next_link(resp)
            pages += 1
            if not link:
                return total
            if link in seen or pages >= self.max_pages:
                raise EndpointProtocol(f"the tag list of {name!r} pages forever: check the registry")
            seen.add(link)
            url = urljoin(resp.url, link)

    def _count_batch(self, batch: list[str]) -> list[tuple[str, int]]:
        token = None
        if self.auth_mode == "token" and len(batch) > 1:
            token = self._token(tuple(f"repository:{n}:pull" for n in batch))
        return [(n, self.tag_count(n, token)) for n in batch]

    def tag_counts(self, names: Iterable[str]) -> Iterator[tuple[str, int]]:
        """(name, tag count) for each name, in completion order, with at most ``concurrency`` requests in flight.

        ``names`` is consumed lazily (it may be the catalog walk itself), and at
        most ``2 × concurrency`` batches wait, so memory stays flat.
        """
        it = iter(names)
        size = self.scopes_per_token if self.auth_mode in (None, "token") else 1
        pool = cf.ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="registry-tags")
        pending: set[cf.Future] = set()
        try:
            while True:
                batch = list(itertools.islice(it, size))
                if not batch:
                    break
                pending.add(pool.submit(self._count_batch, batch))
                if len(pending) >= 2 * self.concurrency:
                    done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    for f in done:
                        yield from f.result()
            for f in cf.as_completed(pending):
                yield from f.result()
            pending = set()
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)


def _is_json_object(resp) -> bool:
    try:
        return isinstance(resp.json(), dict)
    except ValueError:
        return False


# ---------------------------------------------------------------------------
# Reconciliation with the database
# ---------------------------------------------------------------------------
_REPO_SQL = ("SELECT r.name, p.name, p.deleted FROM repository r "
             "LEFT JOIN project p ON p.project_id = r.project_id")
_PROJECT_SQL = "SELECT name, deleted FROM project"


class _Names:
    """A capped sample plus a count: what a Check can carry for a possibly huge list."""

    def __init__(self, limit: int):
        self.limit = limit
        self.count = 0
        self.items: list[tuple[str, str | None]] = []

    def add(self, name: str, reason: str | None = None) -> None:
        self.count += 1
        if len(self.items) < self.limit:
            self.items.append((name, reason))

    def data(self) -> dict:
        items = sorted(self.items)
        out: dict = {"count": self.count, "names": [n for n, _ in items], "truncated": self.count > len(items)}
        reasons = {n: r for n, r in items if r}
        if reasons:
            out["reasons"] = reasons
        return out

    def lines(self, sample: int) -> list[str]:
        shown = [f"{n} ({r})" if r else n for n, r in sorted(self.items)[:sample]]
        more = self.count - len(shown)
        return shown + ([f"… and {more} more"] if more > 0 else [])


def reconcile(db, registry_client: RegistryClient, *, sample: int = 20, limit: int = 1000) -> list[Check]:
    """Compare the ``repository`` table with the registry by Harbor 1.5.2's rule (module docstring).

    Returns one Check per kind of difference, or a single failing Check
    (with its exit code) when the registry or the database cannot be read.
    """
    try:
        return _reconcile(db, registry_client, sample=sample, limit=limit)
    except MigratorError as exc:
        return [failed("registry.reconcile", exc)]


def _reconcile(db, client: RegistryClient, *, sample: int, limit: int) -> list[Check]:
    for table in ("project", "repository"):
        if not db.has_table(table):
            raise NotHarbor(f"the database has no `{table}` table: point at the Harbor database "
                            "(usually `registry`)")
    started = time.monotonic()
    if client.auth_mode is None:
        client.check_api()       # the auth scheme decides how many names share one token request
    # MySQL compares project names case-insensitively (utf8_general_ci), and so does Harbor's lookup.
    projects: dict[str, bool] = {}
    for name, deleted in db.stream(_PROJECT_SQL):
        key = str(name).casefold()
        projects[key] = projects.get(key, False) or not deleted
    live = {k for k, alive in projects.items() if alive}

    counts = {"catalog": 0}
    outside = _Names(limit)                # catalog repos whose project is missing or deleted
    outside_set: set[str] = set()
    existing: set[str] = set()             # Harbor's view: catalog ∧ tags ≥ 1 ∧ live project
    empty: set[str] = set()

    def live_repositories() -> Iterator[str]:
        for name in client.repositories():
            counts["catalog"] += 1
            project = project_of(name).casefold()
            if project in live:
                yield name
            else:
                why = "project deleted" if project in projects else ("no project part" if not project
                                                                      else "no such project")
                outside.add(name, why)
                outside_set.add(name)

    for name, count in client.tag_counts(live_repositories()):
        (existing if count else empty).add(name)

    matched = 0
    rows = 0
    only_db = _Names(limit)
    bad_rows = _Names(limit)
    for name, pname, pdeleted in db.stream(_REPO_SQL):
        rows += 1
        if pname is None:
            bad_rows.add(name, "its project_id has no project row")
        elif pdeleted:
            bad_rows.add(name, f"its project {pname!r} is deleted")
        elif str(pname).casefold() != project_of(name).casefold():
            bad_rows.add(name, f"its project_id points at project {pname!r}")
        if name in existing:
            existing.discard(name)
            matched += 1
            continue
        if name in empty:
            why = "in the registry without tags"
        elif name in outside_set:
            why = "its project is missing or deleted"
        else:
            why = "not in the registry catalog"
        only_db.add(name, why)
    only_storage = _Names(limit)
    for name in existing:
        only_storage.add(name)
    empties = _Names(limit)
    for name in empty:
        empties.add(name)
    elapsed = time.monotonic() - started

    stats = {"catalog_repositories": counts["catalog"], "catalog_pages": client.pages, "repository_rows": rows,
             "matched": matched, "requests": client.requests, "tag_requests": client.tag_requests,
             "token_requests": client.token_requests, "seconds": round(elapsed, 3)}
    checks = [Check("registry.catalog", Status.OK,
                    f"{counts['catalog']} repositories in {client.pages} catalog pages; {matched} of {rows} "
                    f"repository rows match an image with tags ({client.requests} requests, {elapsed:.1f}s)",
                    data=stats)]

    findings = (
        ("only_in_database", only_db, Status.FAIL,
         "repository rows have no tagged image in the registry; Harbor 1.5.2 deletes these rows at its first "
         "start: check that this registry's storage belongs to this database",
         "every repository row has a tagged image"),
        ("only_in_storage", only_storage, Status.WARN,
         "tagged repositories of live projects have no repository row; Harbor 1.5.2 adds them at its first "
         "start (pull counts from access_log)",
         "every tagged repository of a live project has a repository row"),
        ("empty_repositories", empties, Status.WARN,
         "repositories of live projects are in the catalog without tags; Harbor ignores them (run the "
         "registry's garbage collection to drop them)",
         "no catalog repository without tags"),
        ("orphaned_repositories", outside, Status.WARN,
         "catalog repositories belong to a missing or deleted project; Harbor ignores them (restore the "
         "project or delete them from storage)",
         "every catalog repository belongs to a live project"),
        ("repository_projects", bad_rows, Status.WARN,
         "repository rows point at a missing, deleted or different project than their name says: Harbor "
         "lists them under that project_id",
         "every repository row points at the live project its name starts with"),
    )
    for name, found, status, problem, fine in findings:
        if not found.count:
            checks.append(Check(f"registry.{name}", Status.OK, fine))
            continue
        checks.append(Check(f"registry.{name}", status, f"{found.count} {problem}", details=found.lines(sample),
                            data=found.data(),
                            exit_code=int(ExitCode.VERIFY_FAILED) if status == Status.FAIL else None))
    return checks


def verify_registry(db, url: str, *, username: str | None = None, password: str | None = None,
                    insecure: bool | None = None, timeout: float = 10.0, concurrency: int = 8) -> list[Check]:
    """Probe the registry at ``url`` and reconcile it with the database; failures come back as Checks."""
    try:
        client = RegistryClient(url, username=username, password=password, insecure=insecure, timeout=timeout,
                                concurrency=concurrency)
    except MigratorError as exc:
        return [failed("registry.api", exc)]
    with client:
        try:
            description = client.check_api()
        except MigratorError as exc:
            return [failed("registry.api", exc)]
        return [Check("registry.api", Status.OK, description)] + reconcile(db, client)


__all__ = ["RegistryClient", "reconcile", "verify_registry", "parse_challenge", "project_of"]
