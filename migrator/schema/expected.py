"""The schema a revision should have on *this* server, and which revision a live schema is.

``expected`` resolves a revision's model with the server's timestamp rules and
the database's collation, as a fresh Harbor install on that server would be.
``fingerprint`` ranks the known revisions by how far a live schema is from
each, looking at table and column names and index shapes only (timestamp
defaults differ with server history and say nothing about the revision).
"""
from __future__ import annotations

import dataclasses

from ..mysql.connection import ServerInfo
from .model import Schema, Table, resolve
from .revisions import ALEMBIC_VERSION_CHARSET, MODELS

# Tables harbor-migrate itself may leave while a step runs; never Harbor's.
OWN_TABLE_SUFFIXES = ("__hm_new", "__hm_old")


def is_own_table(name: str) -> bool:
    return name.endswith(OWN_TABLE_SUFFIXES)


def _charset_collation(charset: str) -> str:
    return {"utf8": "utf8_general_ci", "utf8mb3": "utf8_general_ci", "utf8mb4": "utf8mb4_general_ci",
            "latin1": "latin1_swedish_ci"}.get(charset, charset + "_general_ci")


def expected(revision: str, info: ServerInfo) -> Schema:
    """The schema of ``revision`` as this server would create it fresh."""
    collation = info.db_collation.replace("utf8mb3_", "utf8_")
    schema = resolve(MODELS[revision], info.explicit_defaults_for_timestamp, collation)
    tables = dict(schema.tables)
    if "alembic_version" in tables:
        tables["alembic_version"] = dataclasses.replace(
            tables["alembic_version"], collation=_charset_collation(ALEMBIC_VERSION_CHARSET))
    return Schema(tables)


def harbor_tables(live: Schema) -> Schema:
    return Schema({n: t for n, t in live.tables.items() if not is_own_table(n)})


def _signature(tables: dict[str, Table]) -> set[tuple]:
    sig: set[tuple] = set()
    for t in tables.values():
        sig.add(("table", t.name))
        for c in t.columns:
            sig.add(("column", t.name, c.name, c.type))
        for i in t.indexes:
            sig.add(("index", t.name, i.columns, i.unique))
    return sig


def fingerprint(live: Schema, info: ServerInfo) -> list[tuple[str, int]]:
    """Known revisions with their distance from ``live``, closest first."""
    live_sig = _signature(harbor_tables(live).tables)
    ranked = []
    for revision in MODELS:
        want_sig = _signature(expected(revision, info).tables)
        ranked.append((revision, len(live_sig ^ want_sig)))
    order = list(MODELS)
    ranked.sort(key=lambda r: (r[1], -order.index(r[0])))
    return ranked
