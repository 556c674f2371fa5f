"""A real Docker registry on 127.0.0.1 with Harbor-style token auth, for tests and benchmarks.

``LocalRegistry`` runs Debian's ``docker-registry`` (Docker Distribution) with
filesystem storage in a temp dir. ``TokenIssuer`` is a small in-process token
service that signs RS256 JWTs the way Harbor 1.5.2's ``/service/token`` does
(issuer ``harbor-token-issuer``, service ``harbor-registry``, header ``x5c``)
and grants ``registry:catalog:*`` to system administrators only.
``Pusher`` fills the registry over plain HTTP: blobs, then schema-2 manifests.

Shared by tests/http and bench/bench_registry.py, so both exercise the same
registry the same way. Everything listens on 127.0.0.1 only.
"""
from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gzip
import hashlib
import http.server
import io
import itertools
import json
import os
import pathlib
import shutil
import socket
import subprocess
import tarfile
import tempfile
import threading
import time
import uuid
from typing import Iterable
from urllib.parse import parse_qs, urlparse

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

REGISTRY_BIN = os.environ.get("DOCKER_REGISTRY_BIN", "/usr/bin/docker-registry")
SERVICE = "harbor-registry"
ISSUER = "harbor-token-issuer"

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"


def registry_available() -> bool:
    return os.access(REGISTRY_BIN, os.X_OK)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietServer(http.server.ThreadingHTTPServer):
    """A threaded server that neither logs nor waits for stuck handlers on close."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def handle_error(self, request, client_address) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)  # a client that timed out is expected


class QuietHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # headers and body go out in two writes: avoid 40 ms delayed-ACK stalls

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def send_json(self, status: int, body, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


@contextlib.contextmanager
def serve(handler_cls: type, **attrs):
    """Run ``handler_cls`` on 127.0.0.1:<free port> in a thread; yields the base URL."""
    server = QuietServer(("127.0.0.1", 0), handler_cls)
    for k, v in attrs.items():
        setattr(server, k, v)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------------
# Signing material
# ---------------------------------------------------------------------------
class SigningKey:
    """A self-signed RSA certificate the registry trusts (``rootcertbundle``)."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harbor-token-issuer")])
        now = dt.datetime.now(dt.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                     .sign(self.key, hashes.SHA256()))
        self.key_pem = self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.x5c = base64.b64encode(self.cert.public_bytes(serialization.Encoding.DER)).decode()

    def sign(self, subject: str, access: list[dict], expires_in: int = 1800) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": SERVICE, "sub": subject, "iat": now, "nbf": now - 5,
                  "exp": now + expires_in, "jti": uuid.uuid4().hex, "access": access}
        # The key object, not the PEM: parsing the PEM re-validates the RSA key (tens of ms) on every call.
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"x5c": [self.x5c]})


def parse_scope(scope: str) -> dict | None:
    """``repository:a/b:pull,push`` → access entry (names may not contain ':' here)."""
    parts = scope.split(":")
    if len(parts) < 3:
        return None
    return {"type": parts[0], "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")}


# ---------------------------------------------------------------------------
# Token service
# ---------------------------------------------------------------------------
class TokenIssuer:
    """In-process ``/service/token``: Basic auth, Harbor's grant rules, request counting.

    ``users`` maps name → (password, is_sysadmin). Anonymous requests are
    allowed but get no actions, as on Harbor for private projects.
    """

    def __init__(self, key: SigningKey, users: dict[str, tuple[str, bool]] | None = None,
                 expires_in: int = 1800):
        self.key = key
        self.users = dict(users or {"admin": ("Harbor12345", True)})
        self.expires_in = expires_in
        self.requests = 0
        self.scopes_seen = 0
        self._lock = threading.Lock()
        self._cm = None
        self.url = ""

    def grant(self, user: str | None, scopes: list[str]) -> list[dict]:
        is_admin = bool(user) and self.users[user][1]
        access = []
        for s in scopes:
            entry = parse_scope(s)
            if entry is None:
                continue
            if entry["type"] == "registry":
                entry["actions"] = ["*"] if is_admin and entry["name"] == "catalog" else []
            elif entry["type"] == "repository":
                if "/" not in entry["name"]:
                    raise ValueError("repository name without a project")  # Harbor answers 500
                entry["actions"] = [a for a in entry["actions"] if a in ("pull", "push", "*")] if is_admin else []
            access.append(entry)
        return access

    def mint(self, access: list[dict], subject: str = "admin") -> str:
        """A token signed directly (for pushes in fixtures, no HTTP round trip)."""
        return self.key.sign(subject, access, self.expires_in)

    def start(self) -> str:
        issuer = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                with issuer._lock:
                    issuer.requests += 1
                url = urlparse(self.path)
                if url.path != "/service/token":
                    return self.send_json(404, {"error": "not found"})
                q = parse_qs(url.query)
                if q.get("service", [""])[0] != SERVICE:
                    return self.send_json(400, {"error": "invalid service"})
                user = None
                header = self.headers.get("Authorization", "")
                if header:
                    if not header.startswith("Basic "):
                        return self.send_json(401, {"error": "unauthorized"})
                    try:
                        name, _, pw = base64.b64decode(header[6:]).decode().partition(":")
                    except Exception:
                        return self.send_json(401, {"error": "unauthorized"})
                    if name not in issuer.users or issuer.users[name][0] != pw:
                        return self.send_json(401, {"error": "unauthorized"})
                    user = name
                scopes = q.get("scope", [])
                with issuer._lock:
                    issuer.scopes_seen += len(scopes)
                try:
                    access = issuer.grant(user, scopes)
                except ValueError:
                    return self.send_json(500, {"error": "internal error"})
                token = issuer.key.sign(user or "", access, issuer.expires_in)
                self.send_json(200, {"token": token, "expires_in": issuer.expires_in,
                                     "issued_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})

        self._cm = serve(Handler)
        base, _ = self._cm.__enter__()
        self.url = base + "/service/token"
        return self.url

    def stop(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
            self._cm = None


# ---------------------------------------------------------------------------
# The registry process
# ---------------------------------------------------------------------------
class LocalRegistry:
    """``docker-registry serve`` on 127.0.0.1:<free port>, storage in a temp dir.

    With ``token_realm`` it demands Harbor-style bearer tokens; without it, no auth.
    """

    def __init__(self, key: SigningKey | None = None, token_realm: str | None = None,
                 base_dir: str | None = None):
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="harbor-migrate-registry-", dir=base_dir))
        self.key = key
        self.token_realm = token_realm
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def config(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.dir / 'storage'}",
            "  delete:",
            "    enabled: true",
            "  cache:",
            "    blobdescriptor: inmemory",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
            f"  secret: {uuid.uuid4().hex}",
        ]
        if self.token_realm:
            assert self.key is not None
            (self.dir / "root.crt").write_bytes(self.key.cert_pem)
            lines += [
                "auth:",
                "  token:",
                f"    realm: {self.token_realm}",
                f"    service: {SERVICE}",
                f"    issuer: {ISSUER}",
                f"    rootcertbundle: {self.dir / 'root.crt'}",
            ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> "LocalRegistry":
        cfg = self.dir / "config.yml"
        cfg.write_text(self.config())
        self.log = open(self.dir / "registry.log", "wb")
        self.proc = subprocess.Popen([REGISTRY_BIN, "serve", str(cfg)], stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {(self.dir / 'registry.log').read_text()[-500:]}")
            try:
                requests.get(self.url + "/v2/", timeout=1)
                return self
            except requests.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not start listening in time")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        with contextlib.suppress(Exception):
            self.log.close()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "LocalRegistry":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.destroy()


# ---------------------------------------------------------------------------
# Filling it
# ---------------------------------------------------------------------------
def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tiny_image() -> tuple[bytes, bytes, bytes]:
    """(layer, config, manifest): an empty gzip'd tar layer and a matching schema-2 manifest."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w"):
        pass
    layer = gzip.compress(raw.getvalue(), mtime=0)
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [_digest(raw.getvalue())]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": MANIFEST_V2,
        "config": {"mediaType": CONFIG_V1, "size": len(config), "digest": _digest(config)},
        "layers": [{"mediaType": LAYER_GZIP, "size": len(layer), "digest": _digest(layer)}],
    }, indent=3).encode()
    return layer, config, manifest


class Pusher:
    """Pushes over plain HTTP the way ``docker push`` does, minus the layers' size.

    The first push uploads the two blobs to a seed repository; later ones mount
    them from there (one request per blob), so filling thousands of
    repositories costs about ``2 + tags`` requests each.
    """

    SEED = "seed/base"

    def __init__(self, registry_url: str, issuer: TokenIssuer | None = None, seed_repo: str | None = None):
        self.url = registry_url.rstrip("/")
        self.SEED = seed_repo or self.SEED
        self.issuer = issuer
        self.layer, self.config, self.manifest = tiny_image()
        self.manifest_digest = _digest(self.manifest)
        self._local = threading.local()
        self._seeded = False
        self._seed_lock = threading.Lock()
        self.requests = itertools.count()

    @property
    def session(self) -> requests.Session:
        s = getattr(self._local, "session", None)
        if s is None:
            s = self._local.session = requests.Session()
        return s

    def _headers(self, scopes: Iterable[tuple[str, str]]) -> dict[str, str]:
        if self.issuer is None:
            return {}
        access = [{"type": "repository", "name": name, "actions": actions.split(",")} for name, actions in scopes]
        return {"Authorization": "Bearer " + self.issuer.mint(access)}

    def _call(self, method: str, url: str, ok: tuple[int, ...], **kw) -> requests.Response:
        next(self.requests)
        resp = self.session.request(method, url, timeout=30, **kw)
        if resp.status_code not in ok:
            raise RuntimeError(f"{method} {url} -> {resp.status_code} {resp.text[:300]}")
        return resp

    def _upload(self, repo: str, blob: bytes, headers: dict[str, str]) -> None:
        start = self._call("POST", f"{self.url}/v2/{repo}/blobs/uploads/", (202,), headers=headers)
        location = start.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        sep = "&" if "?" in location else "?"
        self._call("PUT", f"{location}{sep}digest={_digest(blob)}", (201,), data=blob,
                   headers={**headers, "Content-Type": "application/octet-stream"})

    def seed(self) -> None:
        with self._seed_lock:
            if not self._seeded:
                h = self._headers([(self.SEED, "push,pull")])
                self._upload(self.SEED, self.layer, h)
                self._upload(self.SEED, self.config, h)
                self._seeded = True

    def push(self, repo: str, tags: Iterable[str]) -> None:
        """Make ``repo`` exist with ``tags`` (all pointing at the tiny image)."""
        self.push_many([repo], tags)

    def push_many(self, repos: list[str], tags: Iterable[str]) -> None:
        """Like ``push`` for several repositories under one token (as a client holding many scopes)."""
        self.seed()
        tags = list(tags)
        h = self._headers([(r, "push,pull") for r in repos] + [(self.SEED, "pull")])
        for repo in repos:
            for blob in (self.layer, self.config):
                self._call("POST", f"{self.url}/v2/{repo}/blobs/uploads/", (201,), headers=h,
                           params={"mount": _digest(blob), "from": self.SEED})
            for tag in tags:
                self._call("PUT", f"{self.url}/v2/{repo}/manifests/{tag}", (201,), data=self.manifest,
                           headers={**h, "Content-Type": MANIFEST_V2})

    def blob_only(self, repo: str) -> None:
        """A repository in the catalog with no tag at all (layers pushed, no manifest)."""
        self.seed()
        h = self._headers([(repo, "push,pull"), (self.SEED, "pull")])
        self._call("POST", f"{self.url}/v2/{repo}/blobs/uploads/", (201,), headers=h,
                   params={"mount": _digest(self.layer), "from": self.SEED})

    def delete_manifest(self, repo: str) -> None:
        """Delete the image by digest, which untags every tag pointing at it."""
        h = self._headers([(repo, "*,pull,push")])
        if self.issuer is not None:
            h = {"Authorization": "Bearer " + self.issuer.mint(
                [{"type": "repository", "name": repo, "actions": ["*", "pull", "push", "delete"]}])}
        self._call("DELETE", f"{self.url}/v2/{repo}/manifests/{self.manifest_digest}", (202,), headers=h)
