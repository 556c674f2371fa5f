"""Harbor's reference files for the tests: where a test run finds them, and a fetcher.

The tests compare our results with files of Harbor's own repository (fresh-install schemas,
harbor.cfg, the adminserver template, the swagger description). They are another project's
Apache-2.0 data, so they are never committed here. A test run looks, first to last, in:

  1. ``$HARBOR_REFERENCE_DIR``, when set and not empty (an explicit choice: no fallback);
  2. ``../shared/harbor-reference`` beside the checkout;
  3. the cache that ``fetch`` fills, used only when every file in it matches its pin
     (default ``${XDG_CACHE_HOME:-~/.cache}/harbor-migrate/harbor-reference``).

    python3 -m tests.reference_files fetch [--base-url URL] [--cache DIR]
    python3 -m tests.reference_files where

``fetch`` downloads each file from ``BASE/TAG/PATH`` (default base: GitHub's raw files of
goharbor/harbor; a ``file://`` mirror laid out as TAG/PATH works too), checks its SHA-256
against the pin below, and only when every file matches moves them into the cache: one
mismatch or failed download refuses the whole fetch and leaves the cache as it was.
Exit codes: 0 done, 1 a download failed, 2 usage, 3 a checksum mismatch.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import pathlib
import shutil
import sys
import tempfile
import urllib.error
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "harbor-reference"
DEFAULT_BASE_URL = "https://raw.githubusercontent.com/goharbor/harbor"
# The file whose presence the fixtures take for "the reference files are here".
MARKER = "schema/registry-1.5.2.sql"


@dataclasses.dataclass(frozen=True)
class RefFile:
    name: str     # path inside the reference directory
    tag: str      # git tag of goharbor/harbor
    path: str     # path inside that tag
    sha256: str

    def url(self, base: str) -> str:
        return f"{base.rstrip('/')}/{self.tag}/{self.path}"


# Byte-for-byte the files at these tags (shared/harbor-reference/README.md says what each is).
FILES = (
    RefFile("schema/registry-0.1.0.sql", "0.1.0", "Deploy/db/registry.sql",
            "e673760db42dd9ec48b2b90b73747cb1691e74eebca4c15e3752cb40cf222c68"),
    RefFile("schema/registry-0.1.1.sql", "0.1.1", "Deploy/db/registry.sql",
            "665709aff5dc6f6b3d9d5e3d9c66b4dcc64691cb6d514359998d0af0d449d720"),
    RefFile("schema/registry-0.3.0.sql", "0.3.0", "Deploy/db/registry.sql",
            "d5df7043e66e6ec38abfeaf79bd7ca0eac20960161b965667c9326df1e0cce9b"),
    RefFile("schema/registry-0.4.0.sql", "0.4.0", "Deploy/db/registry.sql",
            "fb5e9cde29a006d338065027d556c920a60dc55d16acc8599a6cfd45374db354"),
    RefFile("schema/registry-0.5.0.sql", "0.5.0", "make/common/db/registry.sql",
            "fb5e9cde29a006d338065027d556c920a60dc55d16acc8599a6cfd45374db354"),
    RefFile("schema/registry-1.2.2.sql", "v1.2.2", "make/common/db/registry.sql",
            "af6a754b332397bd10a36c482272a95911d44a82fd37e532970335c90fde8b53"),
    RefFile("schema/registry-1.3.0.sql", "v1.3.0", "make/common/db/registry.sql",
            "50d5b1813f0800ab23182a88759f2c9f39019dfb4b9254c55d39d04846b9276b"),
    RefFile("schema/registry-1.4.0.sql", "v1.4.0", "make/photon/db/registry.sql",
            "52e36492a3ad585d70a2020cc26502fdd40133c543e9887372ef6970cd26ee5d"),
    RefFile("schema/registry-1.5.2.sql", "v1.5.2", "make/photon/db/registry.sql",
            "b7dc65068295a99ba6ea43ee1b94518816fb03789db1f8ff1c9a3bc840fb7398"),
    RefFile("schema/registry-1.6.0.pgsql", "v1.6.0", "make/migrations/postgresql/0001_initial_schema.up.sql",
            "17f70e3dc05f9aa5d96e883fedbd5d0f5b71399707aee46c54879b512aa10725"),
    RefFile("schema/registry-1.6.0-migrator-create-tables.pgsql", "v1.6.0",
            "tools/migration/db/schema/registry_create_tables.pgsql",
            "21a4581e4f3ced2d12fdc70a97a9bb49bcdff6871d7f58073fcdd4bd61978836"),
    RefFile("cfg/harbor-0.5.0.cfg", "0.5.0", "make/harbor.cfg",
            "285312f300bf9e82f0944db243bd0066291d39513c999efe88bb64925c9491d0"),
    RefFile("cfg/harbor-1.5.2.cfg", "v1.5.2", "make/harbor.cfg",
            "b8d8bb42c534a8733c58a533be777122302292da044af6d598c420155ecc3c91"),
    RefFile("cfg/adminserver-env-1.5.2", "v1.5.2", "make/common/templates/adminserver/env",
            "149361aac25452e461778864faeef2b0d9dca58b599f82a6368f4a22ca4afdda"),
    RefFile("cfg/harbor-1.6.0.cfg", "v1.6.0", "make/harbor.cfg",
            "f79d52a7f28ec34957501dd7cb4c72bbb25f09256074b433c157ebf2cc70aaae"),
    RefFile("cfg/adminserver-env-1.6.0", "v1.6.0", "make/common/templates/adminserver/env",
            "a022704827b0229efa24b0dea661e5ef2342b23400ce4153e69e287548ab540d"),
    RefFile("api/swagger-1.6.0.yaml", "v1.6.0", "docs/swagger.yaml",
            "8808aa81106f50a54506d66aeedbb49affc00fcf47261152aa3d0594324b9c14"),
    RefFile("api/swagger-1.5.2.yaml", "v1.5.2", "docs/swagger.yaml",
            "e5e89324d7f74db55d80ce7afb2d8d5cb9439a28797dd43a775039a1b3370aad"),
)

EXIT_DOWNLOAD, EXIT_USAGE, EXIT_MISMATCH = 1, 2, 3


class FetchError(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def default_cache(env=os.environ) -> pathlib.Path:
    base = env.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base) / "harbor-migrate" / "harbor-reference"


def _sha256(path: pathlib.Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def unverified(directory: pathlib.Path) -> list[RefFile]:
    """The pinned files that are missing from ``directory`` or differ from their pin."""
    return [f for f in FILES if not (directory / f.name).is_file() or _sha256(directory / f.name) != f.sha256]


@dataclasses.dataclass(frozen=True)
class Location:
    directory: pathlib.Path | None   # None: no reference files anywhere
    source: str                      # where it came from, or why none was found


def locate(env=os.environ) -> Location:
    """Where the tests take Harbor's reference files from (see the module docstring)."""
    explicit = env.get("HARBOR_REFERENCE_DIR")
    if explicit:
        return Location(pathlib.Path(explicit), "$HARBOR_REFERENCE_DIR")
    if SHARED.is_dir():
        return Location(SHARED, "../shared/harbor-reference")
    cache = default_cache(env)
    if cache.is_dir() and not unverified(cache):
        return Location(cache, "the fetched cache")
    return Location(None, f"not found: $HARBOR_REFERENCE_DIR is unset, there is no ../shared/harbor-reference, "
                          f"and the cache {cache} is {'incomplete' if cache.is_dir() else 'absent'}")


def _download(url: str, dest: pathlib.Path) -> None:
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(dest, "wb") as out:
            shutil.copyfileobj(response, out)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise FetchError(f"cannot download {url}: {reason}", EXIT_DOWNLOAD) from None


def fetch(base_url: str = DEFAULT_BASE_URL, cache: pathlib.Path | None = None) -> list[RefFile]:
    """Download the files the cache lacks, verify every one, then move them in; returns those fetched.

    All or nothing: the downloads land in a staging directory beside the cache and are moved
    in only once each one matches its pin, so a refused fetch leaves the cache as it was.
    """
    cache = cache or default_cache()
    wanted = unverified(cache) if cache.is_dir() else list(FILES)
    if not wanted:
        return []
    cache.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=".fetch-", dir=cache.parent))
    try:
        for f in wanted:
            dest = staging / f.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            _download(f.url(base_url), dest)
            got = _sha256(dest)
            if got != f.sha256:
                raise FetchError(f"{f.url(base_url)}: SHA-256 {got} is not the pinned {f.sha256}; "
                                 f"refused, nothing written to {cache}", EXIT_MISMATCH)
        for f in wanted:
            (cache / f.name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / f.name, cache / f.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return wanted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.reference_files",
                                     description="Fetch Harbor's reference files for the tests, or say where they are.")
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("fetch", help="download the pinned files into the cache, each checked against its SHA-256")
    f.add_argument("--base-url", default=DEFAULT_BASE_URL,
                   help="where TAG/PATH are found (default %(default)s; file:///mirror works too)")
    f.add_argument("--cache", type=pathlib.Path, default=None,
                   help=f"the cache directory (default {default_cache()}); a non-default one needs HARBOR_REFERENCE_DIR")
    sub.add_parser("where", help="print the directory the tests would use, and where it comes from")
    args = parser.parse_args(argv)

    if args.command == "where":
        loc = locate()
        print(f"{loc.directory} ({loc.source})" if loc.directory else loc.source)
        return 0 if loc.directory else 1
    cache = args.cache or default_cache()
    try:
        fetched = fetch(args.base_url, cache)
    except FetchError as exc:
        print(f"reference_files: ERROR: {exc}", file=sys.stderr)
        return exc.code
    print(f"{cache}: {len(fetched)} file(s) fetched and verified, {len(FILES) - len(fetched)} already there",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
