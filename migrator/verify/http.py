"""One HTTP client for every endpoint ``verify`` talks to.

Why a wrapper around ``requests``: every call needs the same timeouts, the same
bounded retries with backoff (connection errors, 429 and 5xx: the servers
behind Harbor's nginx restart and answer 502/503 for a few seconds), one
mapping of transport failures to ``MigratorError``s whose message names the
fix, and a request counter for the benchmarks. Sessions are per thread, since
``requests.Session`` is not documented as thread-safe.

Secrets: headers and auth are never logged or put in a message; URLs are shown
without user info or query string.
"""
from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any, Callable, Mapping
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import requests.adapters
import urllib3

from ..verdicts import Check, Verdict
from ..errors import EndpointProtocol, EndpointUnreachable, MigratorError

log = logging.getLogger("migrator.verify.http")

# 502/503/504 say "the service behind the proxy is not there": unreachable.
# 500 and other 5xx say "it is there and failing": a protocol/server problem.
_UNAVAILABLE = {502, 503, 504}
_RETRY_STATUS = {429, 500, 502, 503, 504}


def redact_url(url: str) -> str:
    """``url`` without user:password@ and without the query (which may carry scopes or names)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def normalize_base(url: str) -> str:
    """Base URL with a scheme and without a trailing slash; ``http://`` is assumed when absent."""
    url = (url or "").strip()
    if not url:
        raise EndpointUnreachable("no URL given: pass the endpoint as http(s)://host[:port]")
    if "://" not in url:
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EndpointUnreachable(f"cannot use the URL {redact_url(url)!r}: expected http(s)://host[:port]")
    return url.rstrip("/")


# TLS for every client of one verify run: set once by ``configure_tls`` (the CLI's
# --ca-file / --insecure) instead of threading it through each section.
TLS: dict[str, Any] = {"insecure": False, "ca_file": None}


def configure_tls(*, insecure: bool = False, ca_file: str | None = None) -> None:
    TLS["insecure"], TLS["ca_file"] = insecure, ca_file


class HttpClient:
    """GETs against one base URL with timeouts, bounded retries and error mapping.

    ``request`` returns the response for any status below 500 (callers decide
    what 401/404 mean for their endpoint) and raises ``EndpointUnreachable`` /
    ``EndpointProtocol`` for transport failures and for 5xx that persist after
    ``retries`` extra attempts.
    """

    def __init__(self, base_url: str, *, what: str, timeout: float = 10.0, insecure: bool | None = None,
                 retries: int = 3, backoff: float = 0.2, max_backoff: float = 5.0, pool_size: int = 10,
                 auth: tuple[str, str] | None = None, sleep: Callable[[float], None] = time.sleep):
        self.base_url = normalize_base(base_url)
        self.what = what
        self.timeout = float(timeout)
        self.insecure = TLS["insecure"] if insecure is None else insecure
        self.ca_file = TLS["ca_file"]
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.pool_size = pool_size
        self.auth = auth
        self._sleep = sleep
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self.requests = 0   # every HTTP exchange, retries included
        self.retried = 0
        if self.insecure:  # asked for explicitly; one warning per request would drown the report
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    # -- sessions ------------------------------------------------------------------
    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = requests.Session()
            s.trust_env = False  # no proxies or .netrc credentials picked up behind the user's back
            adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=self.pool_size, max_retries=0)
            s.mount("http://", adapter)
            s.mount("https://", adapter)
            s.verify = False if self.insecure else (self.ca_file or True)
            s.headers["User-Agent"] = "harbor-migrate-verify"
            self._local.session = s
            with self._lock:
                self._sessions.append(s)
        return s

    def close(self) -> None:
        with self._lock:
            for s in self._sessions:
                s.close()
            self._sessions.clear()
        self._local = threading.local()

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path_or_url: str) -> str:
        """Absolute URL: relative paths (e.g. a ``Link`` header) resolve against the base."""
        if "://" in path_or_url:
            return path_or_url
        return urljoin(self.base_url + "/", path_or_url)

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    # -- requests ------------------------------------------------------------------
    def get(self, path_or_url: str, **kw: Any) -> requests.Response:
        return self.request("GET", path_or_url, **kw)

    def request(self, method: str, path_or_url: str, *, params: Mapping[str, Any] | list | None = None,
                headers: Mapping[str, str] | None = None, auth: tuple[str, str] | None = None,
                use_default_auth: bool = True) -> requests.Response:
        url = self.url(path_or_url)
        shown = redact_url(url)
        if auth is None and use_default_auth:
            auth = self.auth
        attempt = 0
        while True:
            attempt += 1
            self._count()
            try:
                resp = self.session().request(method, url, params=params, headers=dict(headers or {}), auth=auth,
                                              timeout=(min(self.timeout, 10.0), self.timeout), allow_redirects=True)
            except requests.exceptions.SSLError:
                raise EndpointUnreachable(
                    f"TLS handshake with {self.what} at {shown} failed: pass its CA with --ca-file or, "
                    "for a test instance, --insecure") from None
            except requests.exceptions.ReadTimeout:
                # Not retried: the server took the request and stalled; retrying multiplies the wait.
                raise EndpointUnreachable(
                    f"{self.what} at {shown} did not answer within {self.timeout:g}s: check that it is healthy "
                    "or raise the timeout") from None
            except (requests.exceptions.ConnectionError, requests.exceptions.ConnectTimeout) as exc:
                if attempt <= self.retries:
                    self._pause(attempt, None, f"{method} {shown}: connection failed")
                    continue
                raise EndpointUnreachable(
                    f"cannot reach {self.what} at {shown} ({_reason(exc)}): check the URL, the port and that "
                    "it runs and is reachable from here") from None
            except requests.exceptions.InvalidHeader:
                raise EndpointProtocol(f"a credential or header for {self.what} contains a line break or an invalid "
                                       "character: check the value you passed (for example a secret file with "
                                       "extra lines)") from None
            except requests.exceptions.RequestException as exc:
                raise EndpointProtocol(f"{self.what} at {shown}: {exc.__class__.__name__}: "
                                       "the request could not be completed") from None
            log.debug("%s %s -> %s (attempt %d)", method, shown, resp.status_code, attempt)
            if resp.status_code in _RETRY_STATUS and attempt <= self.retries:
                retry_after = resp.headers.get("Retry-After")
                resp.close()
                self._pause(attempt, retry_after, f"{method} {shown}: HTTP {resp.status_code}")
                continue
            if resp.status_code >= 500:
                cls = EndpointUnreachable if resp.status_code in _UNAVAILABLE else EndpointProtocol
                tries = "" if attempt == 1 else f" ({attempt} attempts)"
                raise cls(f"{self.what} at {shown} answered HTTP {resp.status_code}{tries}: check its logs "
                          "and that the services behind it run")
            if resp.status_code == 429:
                raise EndpointUnreachable(f"{self.what} at {shown} keeps answering 429 Too Many Requests: "
                                          "lower the concurrency or retry later")
            return resp

    def _pause(self, attempt: int, retry_after: str | None, why: str) -> None:
        with self._lock:
            self.retried += 1
        delay = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        delay *= 0.5 + random.random()  # jitter: parallel workers do not retry in lockstep
        if retry_after:
            try:
                delay = min(self.max_backoff, max(delay, float(retry_after)))
            except ValueError:
                pass
        log.debug("%s; retrying in %.2fs", why, delay)
        self._sleep(delay)


def _reason(exc: Exception) -> str:
    """A short cause from a requests/urllib3 connection error, without URLs or credentials."""
    text = str(exc)
    for needle, reason in (("Connection refused", "connection refused"),
                           ("Name or service not known", "unknown host name"),
                           ("nodename nor servname", "unknown host name"),
                           ("Temporary failure in name resolution", "host name does not resolve"),
                           ("timed out", "connection timed out"),
                           ("No route to host", "no route to host"),
                           ("Network is unreachable", "network unreachable"),
                           ("RemoteDisconnected", "connection closed by the server"),
                           ("Connection reset", "connection reset"),
                           ("Connection aborted", "connection aborted")):
        if needle in text:
            return reason
    return "connection failed"


def json_body(resp: requests.Response, what: str) -> Any:
    """The decoded JSON body, or EndpointProtocol naming what was expected."""
    try:
        return resp.json()
    except (ValueError, json.JSONDecodeError):
        ctype = resp.headers.get("Content-Type", "?").split(";")[0]
        raise EndpointProtocol(f"{what} at {redact_url(resp.url)} did not answer JSON (got {ctype}, "
                               f"HTTP {resp.status_code}): check that the URL points at the right service") from None


def next_link(resp: requests.Response) -> str | None:
    """The ``rel="next"`` target of a ``Link`` header (relative or absolute), if any."""
    link = resp.links.get("next") if resp.headers.get("Link") else None
    return link.get("url") if link else None


def failed(name: str, exc: MigratorError) -> Check:
    """A failing Check carrying the error's one-line message and exit code (verify never raises for endpoints)."""
    return Check(name, Verdict.FAIL, exc.message, exit_code=int(exc.exit_code))
