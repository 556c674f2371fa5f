"""The fetcher of Harbor's reference files: pinned SHA-256, all or nothing, and where tests find them.

The mirror is a file:// directory laid out as TAG/PATH, as raw.githubusercontent.com is. The
mechanism tests pin their own small files, so they run without Harbor's; the last test checks
the real pins against whichever copy of Harbor's files this machine has.
"""
from __future__ import annotations

import hashlib
import pathlib

import pytest

from tests import reference_files as rf

CONTENT = {"schema/registry-1.5.2.sql": b"CREATE TABLE user (user_id int);\n",
           "cfg/harbor-1.5.2.cfg": b"_version = 1.5.0\n"}


@pytest.fixture
def pinned(monkeypatch, tmp_path):
    """Two small pinned files, a file:// mirror of them, and no ../shared to fall back on."""
    files = tuple(rf.RefFile(name, "v9.9.9", f"make/{pathlib.PurePath(name).name}", hashlib.sha256(data).hexdigest())
                  for name, data in CONTENT.items())
    monkeypatch.setattr(rf, "FILES", files)
    monkeypatch.setattr(rf, "SHARED", tmp_path / "no-shared")
    mirror = tmp_path / "mirror"
    for f in files:
        (mirror / f.tag / f.path).parent.mkdir(parents=True, exist_ok=True)
        (mirror / f.tag / f.path).write_bytes(CONTENT[f.name])
    return files, mirror


def _leftovers(cache: pathlib.Path) -> list[str]:
    return [p.name for p in cache.parent.iterdir() if p.name.startswith(".fetch-")] if cache.parent.is_dir() else []


def test_fetch_downloads_verifies_and_is_idempotent(pinned, tmp_path, capsys):
    files, mirror = pinned
    cache = tmp_path / "cache" / "harbor-reference"
    assert rf.main(["fetch", "--base-url", mirror.as_uri(), "--cache", str(cache)]) == 0
    for f in files:
        assert (cache / f.name).read_bytes() == CONTENT[f.name]
    assert rf.unverified(cache) == [] and _leftovers(cache) == []
    assert rf.fetch(mirror.as_uri(), cache) == [], "a complete cache downloads nothing"
    assert "2 file(s) fetched and verified" in capsys.readouterr().err


def test_a_tampered_file_is_refused_and_nothing_is_left_in_the_cache(pinned, tmp_path, capsys):
    files, mirror = pinned
    (mirror / files[1].tag / files[1].path).write_bytes(b"_version = 1.5.0\nadmin_password = pwned\n")
    cache = tmp_path / "cache" / "harbor-reference"
    assert rf.main(["fetch", "--base-url", mirror.as_uri(), "--cache", str(cache)]) == rf.EXIT_MISMATCH
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "SHA-256" in err and files[1].sha256 in err
    assert not any(cache.rglob("*")), "neither the tampered file nor the good ones before it"
    assert _leftovers(cache) == []


def test_a_refused_fetch_keeps_the_files_already_cached(pinned, tmp_path):
    files, mirror = pinned
    cache = tmp_path / "cache"
    rf.fetch(mirror.as_uri(), cache)
    (cache / files[1].name).unlink()
    (mirror / files[1].tag / files[1].path).write_bytes(b"tampered\n")
    with pytest.raises(rf.FetchError) as info:
        rf.fetch(mirror.as_uri(), cache)
    assert info.value.code == rf.EXIT_MISMATCH
    assert (cache / files[0].name).read_bytes() == CONTENT[files[0].name]
    assert not (cache / files[1].name).exists()


def test_a_missing_file_is_a_one_line_download_error(pinned, tmp_path, capsys):
    files, mirror = pinned
    (mirror / files[0].tag / files[0].path).unlink()
    cache = tmp_path / "cache"
    assert rf.main(["fetch", "--base-url", mirror.as_uri(), "--cache", str(cache)]) == rf.EXIT_DOWNLOAD
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot download" in err and files[0].path in err
    assert not cache.exists() or not any(cache.rglob("*"))


def test_locate_order_explicit_dir_then_a_complete_cache(pinned, tmp_path):
    files, mirror = pinned
    env = {"XDG_CACHE_HOME": str(tmp_path / "xdg")}
    cache = rf.default_cache(env)
    assert cache == tmp_path / "xdg" / "harbor-migrate" / "harbor-reference"
    assert rf.locate(env).directory is None and "absent" in rf.locate(env).source

    rf.fetch(mirror.as_uri(), cache)
    assert rf.locate(env).directory == cache
    (cache / files[0].name).write_bytes(b"changed since\n")
    assert rf.locate(env).directory is None and "incomplete" in rf.locate(env).source

    # An explicit directory wins, even an empty value does not (it counts as unset).
    assert rf.locate({**env, "HARBOR_REFERENCE_DIR": str(tmp_path / "mine")}).directory == tmp_path / "mine"
    assert rf.locate({**env, "HARBOR_REFERENCE_DIR": ""}).directory is None


def test_the_pins_match_harbors_files_on_this_machine():
    loc = rf.locate()
    if loc.directory is None or not (loc.directory / rf.MARKER).is_file():
        pytest.skip(f"no Harbor reference files ({loc.source}) — python3 -m tests.reference_files fetch")
    assert [f.name for f in rf.unverified(loc.directory)] == []
    assert len({f.name for f in rf.FILES}) == len(rf.FILES)
