"""Build harbor.cfg variants from the shipped 0.5.0 text, and replication_target tables."""
from __future__ import annotations

import itertools
import re

from migrator.mysql import connection as dbmod
from migrator.tools.local_server import LocalServer
from migrator.schema.model import render_create_declared
from migrator.schema.revisions import MODELS

_counter = itertools.count(1)


def set_key(text: str, key: str, value: str) -> str:
    """Set ``key`` the way a user would: edit its line, uncomment it, or append it."""
    active = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
    if active.search(text):
        return active.sub(lambda m: f"{key} = {value}", text, count=1)
    commented = re.compile(rf"^#\s*{re.escape(key)}\s*=.*$", re.M)
    if commented.search(text):
        return commented.sub(lambda m: f"{key} = {value}", text, count=1)
    return text.rstrip("\n") + f"\n{key} = {value}\n"


def drop_key(text: str, key: str) -> str:
    return re.sub(rf"^{re.escape(key)}\s*=.*\n", "", text, flags=re.M)


def without_comments(text: str) -> str:
    return "".join(ln for ln in text.splitlines(True) if not ln.startswith("#"))


def active_keys(text: str) -> list[str]:
    return [m.group(1).lower() for m in re.finditer(r"^([^#;\s][^=:]*?)\s*[=:]", text, re.M)]


def line_above(text: str, key: str) -> str:
    lines = text.splitlines()
    index = next(i for i, ln in enumerate(lines) if re.match(rf"{re.escape(key)}\s*=", ln))
    return lines[index - 1]


def target_database(server: LocalServer, revision: str, rows: list[tuple]) -> dbmod.Database:
    """A fresh database holding replication_target as Harbor ``revision`` declares it.

    ``rows`` are (name, password) or (name, password, insecure) tuples.
    """
    name = f"cfgtest_{next(_counter)}"
    server.create_database(name)
    db = dbmod.connect(server.settings(name))
    db.execute(render_create_declared(MODELS[revision].table("replication_target"), " ENGINE=InnoDB"))
    for row in rows:
        cols = ["name", "url", "username", "password", "update_time"] + (["insecure"] if len(row) > 2 else [])
        values = [row[0], "https://remote.example.com", "admin", row[1], "2017-03-01 10:00:00", *row[2:]]
        db.execute(f"INSERT INTO replication_target ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})",
                   values)
    return db
