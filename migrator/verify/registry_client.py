"""A registry v2 client for counting, never for pulling.

``RegistryClient`` speaks registry v2 with Harbor's token flow (or Basic, or
none), walks ``/v2/_catalog`` page by page and counts tags with bounded
concurrency. Memory holds repository names only: tag lists are counted and
dropped as they arrive. What the counts mean for the database is
``registry``'s business (the reconciliation).
"""
from __future__ import annotations

import concurrent.futures as cf
import itertools
import re
import threading
import time
from typing import Iterable, Iterator
from urllib.parse import parse_qs, quote, urljoin, urlsplit

from ..errors import EndpointAuth, EndpointProtocol
from .http import HttpClient, json_body, next_link, redact_url

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


__all__ = ["CATALOG_SCOPE", "RegistryClient", "parse_challenge"]
