"""The registry side of verification: does storage hold what the database says?

Harbor 1.5.2 keeps no tags in MySQL; at every start its UI reconciles the
``repository`` table with the registry catalog (harbor-facts §6, §7), and 1.6.0
does the same on PostgreSQL. We compute the same view before Harbor does, so an
operator sees which rows Harbor will delete and which it will add:

    a repository *exists* when it is in the catalog, has at least one tag,
    and its first path component names a project row with deleted=0.

The registry is read through ``registry_client.RegistryClient``; the rows through
``harbor_rows.HarborRows`` (the MySQL database, or the PostgreSQL target after the move).
"""
from __future__ import annotations

import time
from typing import Iterator

from ..verdicts import Check, Verdict
from ..errors import ExitCode, MigratorError
from .harbor_rows import HarborRows
from .http import failed
from .registry_client import RegistryClient


def project_of(repository: str) -> str:
    """Harbor's project of a repository: the part before the first '/', '' when there is none."""
    head, sep, _ = repository.partition("/")
    return head if sep else ""


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

    ``db``: a MySQL Database, or a HarborRows (``HarborRows.postgres_target`` after the move).

    Returns one Check per kind of difference, or a single failing Check
    (with its exit code) when the registry or the database cannot be read.
    """
    try:
        return _reconcile(HarborRows.mysql(db), registry_client, sample=sample, limit=limit)
    except MigratorError as exc:
        return [failed("registry.reconcile", exc)]


def _reconcile(rows: HarborRows, client: RegistryClient, *, sample: int, limit: int) -> list[Check]:
    rows.require(("project", "repository"))
    started = time.monotonic()
    if client.auth_mode is None:
        client.check_api()       # the auth scheme decides how many names share one token request
    # MySQL compares project names case-insensitively (utf8_general_ci), and so does Harbor's lookup;
    # PostgreSQL compares them exactly, and so does 1.6.0's (rows.fold).
    projects: dict[str, bool] = {}
    for name, deleted in rows.projects():
        key = rows.fold(name)
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
            project = rows.fold(project_of(name))
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
    count = 0
    only_db = _Names(limit)
    bad_rows = _Names(limit)
    for name, pname, pdeleted in rows.repositories():
        count += 1
        if pname is None:
            bad_rows.add(name, "its project_id has no project row")
        elif pdeleted:
            bad_rows.add(name, f"its project {pname!r} is deleted")
        elif rows.fold(pname) != rows.fold(project_of(name)):
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

    stats = {"catalog_repositories": counts["catalog"], "catalog_pages": client.pages, "repository_rows": count,
             "matched": matched, "requests": client.requests, "tag_requests": client.tag_requests,
             "token_requests": client.token_requests, "seconds": round(elapsed, 3)}
    checks = [Check("registry.catalog", Verdict.OK,
                    f"{counts['catalog']} repositories in {client.pages} catalog pages; {matched} of {count} "
                    f"repository rows match an image with tags ({client.requests} requests, {elapsed:.1f}s)",
                    data=stats)]

    findings = (
        ("only_in_database", only_db, Verdict.FAIL,
         "repository rows have no tagged image in the registry; Harbor 1.5.2 deletes these rows at its first "
         "start: check that this registry's storage belongs to this database",
         "every repository row has a tagged image"),
        ("only_in_storage", only_storage, Verdict.WARN,
         "tagged repositories of live projects have no repository row; Harbor 1.5.2 adds them at its first "
         "start (pull counts from access_log)",
         "every tagged repository of a live project has a repository row"),
        ("empty_repositories", empties, Verdict.WARN,
         "repositories of live projects are in the catalog without tags; Harbor ignores them (run the "
         "registry's garbage collection to drop them)",
         "no catalog repository without tags"),
        ("orphaned_repositories", outside, Verdict.WARN,
         "catalog repositories belong to a missing or deleted project; Harbor ignores them (restore the "
         "project or delete them from storage)",
         "every catalog repository belongs to a live project"),
        ("repository_projects", bad_rows, Verdict.WARN,
         "repository rows point at a missing, deleted or different project than their name says: Harbor "
         "lists them under that project_id",
         "every repository row points at the live project its name starts with"),
    )
    for name, found, status, problem, fine in findings:
        if not found.count:
            checks.append(Check(f"registry.{name}", Verdict.OK, fine))
            continue
        checks.append(Check(f"registry.{name}", status, f"{found.count} {problem}", details=found.lines(sample),
                            data=found.data(),
                            exit_code=int(ExitCode.VERIFY_FAILED) if status == Verdict.FAIL else None))
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
        return [Check("registry.api", Verdict.OK, description)] + reconcile(db, client)


__all__ = ["reconcile", "verify_registry", "project_of"]
