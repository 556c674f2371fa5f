"""The revision chain, declared once: every revision id in order, the Harbor releases whose
fresh schema is at it, the Harbor versions a user may name for it, and the head.

Everything else (status, plan, the executor, verify, the expected schemas, demo, rehearse)
reads this module; the alembic scripts' ``revision``/``down_revision`` must spell the same
chain, which a test checks (harbor-facts §1.1 for the releases).
"""
from __future__ import annotations

import dataclasses
import re

from ..errors import UnknownVersion, UsageError


@dataclasses.dataclass(frozen=True)
class Revision:
    id: str                     # alembic revision id, as Harbor stamps it
    releases: str               # Harbor releases whose fresh schema is at this revision
    versions: tuple[str, ...]   # Harbor versions that name it for --to / --from (besides its id)


# 0.1.0 has no alembic_version: it is alembic's "base", the chain's first script is 0.1.1.
CHAIN: tuple[Revision, ...] = (
    Revision("0.1.0", "0.1.0 (before alembic)", ()),
    Revision("0.1.1", "0.1.1", ()),
    Revision("0.3.0", "0.3.0, 0.3.5", ("0.3.5",)),
    Revision("0.4.0", "0.4.0, 0.4.1, 0.4.5, 0.5.0, 1.1.x",
             ("0.4.1", "0.4.5", "0.5.0", "1.1", "1.1.0", "1.1.1", "1.1.2")),
    Revision("1.2.0", "1.2.x", ("1.2", "1.2.2")),
    Revision("1.3.0", "1.3.x", ("1.3",)),
    Revision("1.4.0", "1.4.x", ("1.4",)),
    Revision("1.5.0", "1.5.0, 1.5.1, 1.5.2", ("1.5", "1.5.1", "1.5.2")),
)

ORDER: tuple[str, ...] = tuple(r.id for r in CHAIN)
BASE = ORDER[0]
HEAD = ORDER[-1]
HEAD_RELEASE = "1.5.2"          # the Harbor release a database at HEAD is upgraded for
RELEASES: dict[str, str] = {r.id: r.releases for r in CHAIN}
# --to names: every revision after the base, by its id or a Harbor version.
TARGETS: dict[str, str] = {name: r.id for r in CHAIN[1:] for name in (r.id, *r.versions)}

# Past the head, on another engine: Harbor 1.6.0 runs on PostgreSQL only. Not a step of the
# MySQL chain (no alembic script here): the database at HEAD is moved into PostgreSQL
# (migrator/move), where alembic_version then reads this id.
PG_TARGET = Revision("1.6.0", "1.6.0", ("1.6",))
PG_TARGET_NAMES: dict[str, str] = {name: PG_TARGET.id for name in (PG_TARGET.id, *PG_TARGET.versions)}


def index(revision: str) -> int:
    return ORDER.index(revision)


def is_known(revision: str | None) -> bool:
    return revision in RELEASES


def after(revision: str) -> str | None:
    """The revision that follows ``revision`` (None at the head)."""
    i = index(revision) + 1
    return ORDER[i] if i < len(ORDER) else None


def between(start: str, target: str) -> list[str]:
    """Revision ids after ``start`` up to ``target``, oldest first (empty when already there)."""
    return list(ORDER[index(start) + 1: index(target) + 1])


def at_least(revision: str, than: str) -> bool:
    return index(revision) >= index(than)


def newer_than_head(revision: str) -> bool:
    """Whether a revision string we do not know names a release past the head (e.g. 1.6.0)."""
    nums = [int(x) for x in re.findall(r"\d+", revision)[:3]]
    return bool(nums) and tuple(nums) > tuple(int(x) for x in HEAD.split("."))


def is_pg_target(revision: str) -> bool:
    return revision == PG_TARGET.id


def resolve_target(name: str, *, postgres: bool = False) -> str:
    """``--to`` accepts Harbor versions (1.5.2) and revision ids (1.5.0); anything else is a
    usage error (exit 2), like any other bad flag value. With ``postgres`` (the commands that
    take ``--target-dsn``), also the PostgreSQL target (1.6.0)."""
    key = name.strip().lstrip("v")
    if key in TARGETS:
        return TARGETS[key]
    if key in PG_TARGET_NAMES:
        if postgres:
            return PG_TARGET_NAMES[key]
        raise UsageError(f"--to {name}: Harbor {PG_TARGET.releases} runs on PostgreSQL; this command goes up to "
                         f"{HEAD_RELEASE} (upgrade and plan take --to {PG_TARGET.id} --target-dsn postgresql://…)")
    raise UsageError(f"unknown target {name!r}: use a Harbor version (1.2.2, 1.3.0, 1.4.0, {HEAD_RELEASE}) "
                     f"or a revision id ({', '.join(ORDER[1:])})")


def resolve_start(name: str | None) -> str | None:
    """``--from`` accepts revision ids and, like ``--to``, Harbor versions."""
    if not name:
        return None
    if is_known(name):
        return name
    key = name.strip().lstrip("v")
    if key in TARGETS:
        return TARGETS[key]
    raise UnknownVersion(f"--from {name}: use a revision id ({', '.join(ORDER)}) or a Harbor version "
                         "(0.5.0, 1.2.2 …)")
