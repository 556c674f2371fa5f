"""Fixtures: one throwaway PostgreSQL cluster per session, fresh databases on it, Harbor's .pgsql files.

The cluster (LocalPostgres, about 1 s) is shared; each test makes its own
databases and drops them after. Without Debian's postgresql binaries every test
here skips with how to install them.
"""
from __future__ import annotations

import itertools
import pathlib
import re

import pytest

from migrator.postgres.connection import PgDatabase, connect_pg
from migrator.tools.local_postgres import LocalPostgres, find_pg_bindir

_counter = itertools.count()


@pytest.fixture(scope="session")
def local_pg():
    if not find_pg_bindir():
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin): apt-get install postgresql")
    pg = LocalPostgres().start()
    yield pg
    pg.destroy()


def pgsql_statements(text: str) -> str:
    """A Harbor .pgsql file made loadable into a database we chose: its own ``CREATE DATABASE``
    and psql meta-commands (``\\c registry;``) removed; everything else as written."""
    text = re.sub(r"(?im)^\s*create\s+database\s+[^;]*;", "", text)
    return re.sub(r"(?m)^\s*\\.*$", "", text)


class PgDatabases:
    """Creates uniquely named databases on the session's cluster and drops them afterwards."""

    def __init__(self, pg: LocalPostgres):
        self.pg = pg
        self.names: list[str] = []

    def create(self, prefix: str = "t", owner: str | None = None) -> str:
        name = f"{prefix}_{next(_counter)}"
        self.pg.create_database(name, owner=owner)
        self.names.append(name)
        return name

    def connect(self, name: str) -> PgDatabase:
        return connect_pg(self.pg.superuser_settings(name))

    def load(self, path: pathlib.Path, prefix: str = "t") -> str:
        """A new database holding what ``path`` creates."""
        name = self.create(prefix)
        with self.connect(name) as db:
            db.execute(pgsql_statements(path.read_text(encoding="utf-8")))
        return name

    def cleanup(self) -> None:
        for name in self.names:
            self.pg.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pg_dbs(local_pg):
    f = PgDatabases(local_pg)
    yield f
    f.cleanup()


@pytest.fixture(scope="session")
def schema_160(reference) -> pathlib.Path:
    """Harbor 1.6.0's fresh schema (what its core creates), from the reference files."""
    return _reference_schema(reference, "registry-1.6.0.pgsql")


@pytest.fixture(scope="session")
def schema_160_migrator(reference) -> pathlib.Path:
    """The tables Harbor 1.6.0's migrator creates before loading the MySQL dump."""
    return _reference_schema(reference, "registry-1.6.0-migrator-create-tables.pgsql")


def _reference_schema(reference: pathlib.Path, name: str) -> pathlib.Path:
    """A schema file from the reference files; the test skips (saying how to fetch them) without it."""
    path = reference / "schema" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: python3 -m tests.reference_files fetch")
    return path
