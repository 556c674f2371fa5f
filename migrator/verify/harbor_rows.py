"""Harbor's project, repository and member rows, read from the database a Harbor release runs on.

The registry reconciliation and the core API comparison read the same rows from
Harbor 1.5.2's MySQL database or, after the move, from Harbor 1.6.0's PostgreSQL
one. The two hold the same rows with two differences the checks must follow: the
user table is `user` on MySQL and ``harbor_user`` on PostgreSQL (the move's rename),
and MySQL compares names case-insensitively (utf8_general_ci) while PostgreSQL
compares them exactly, and Harbor's own lookups follow its database. ``deleted`` is
a tinyint on one and a boolean on the other; ``deleted = false`` reads both.
"""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from ..errors import NotHarbor, UnknownVersion

_LIVE_PROJECTS = "SELECT project_id, name FROM project WHERE deleted = false"
_PROJECTS = "SELECT name, deleted FROM project"
_REPOSITORIES = ("SELECT r.name, p.name, p.deleted FROM repository r "
                 "LEFT JOIN project p ON p.project_id = r.project_id")
_REPOSITORY_NAMES = "SELECT name, project_id FROM repository"
_REPOSITORY_COUNTS = "SELECT project_id, COUNT(*) FROM repository GROUP BY project_id"
# The API omits members whose user is deleted (harbor-facts §6), so the join drops them too.
_USER_MEMBERS = ("SELECT pm.project_id, pm.entity_id, u.username, pm.role FROM project_member pm "
                 "JOIN {user} u ON u.user_id = pm.entity_id AND u.deleted = false WHERE pm.entity_type = 'u'")


class HarborRows:
    """The rows source of the service checks: ``mysql(db)`` for 1.5.2, ``postgres(pg)`` for 1.6.0."""

    def __init__(self, db: Any, *, postgres: bool):
        self.db = db
        self.postgres = postgres
        self.user_table = "harbor_user" if postgres else "`user`"
        self.where = "the PostgreSQL target" if postgres else "the database"

    @classmethod
    def mysql(cls, db: Any) -> "HarborRows":
        return db if isinstance(db, HarborRows) else cls(db, postgres=False)

    @classmethod
    def postgres_target(cls, pg: Any) -> "HarborRows":
        return cls(pg, postgres=True)

    def fold(self, name: str) -> str:
        """A project name as the database compares it."""
        return str(name) if self.postgres else str(name).casefold()

    def _rows(self, sql: str) -> Iterable[tuple]:
        # MySQL: a server-side cursor; PostgreSQL: these tables stay small next to access_log.
        return self.db.query(sql) if self.postgres else self.db.stream(sql)

    def _tables(self) -> set[str]:
        if self.postgres:
            return set(self.db.table_names())
        return {t for t in ("project", "repository", "project_member", "user") if self.db.has_table(t)}

    def require(self, tables: Iterable[str]) -> None:
        present = self._tables()
        for table in tables:
            name = "harbor_user" if self.postgres and table == "user" else table
            if name not in present:
                raise NotHarbor(f"{self.where} has no `{name}` table: point at the Harbor database "
                                "(usually `registry`)")

    def require_members(self) -> None:
        self.require(("project", "repository", "project_member", "user"))
        if self.postgres:
            return          # 1.6.0's project_member always has entity_type (the move's schema)
        if "entity_type" not in self.db.column_names("project_member"):
            raise UnknownVersion("project_member has no entity_type column: the database is not at Harbor 1.5 "
                                 "yet; run the upgrade first")

    def projects(self) -> Iterator[tuple[str, bool]]:
        for name, deleted in self._rows(_PROJECTS):
            yield str(name), bool(deleted)

    def repositories(self) -> Iterator[tuple[str, str | None, bool | None]]:
        """(repository name, its project's name or None, the project deleted or None)."""
        for name, pname, pdeleted in self._rows(_REPOSITORIES):
            yield str(name), (None if pname is None else str(pname)), (None if pdeleted is None else bool(pdeleted))

    def live_project_ids(self) -> dict[str, int]:
        return {str(n): int(i) for i, n in self.db.query(_LIVE_PROJECTS)}

    def repository_names(self) -> Iterator[tuple[str, int]]:
        for name, pid in self._rows(_REPOSITORY_NAMES):
            yield str(name), int(pid)

    def repository_counts(self) -> dict[int, int]:
        return {int(pid): int(n) for pid, n in self.db.query(_REPOSITORY_COUNTS)}

    def user_members(self) -> Iterator[tuple[int, int, str, int]]:
        for pid, uid, uname, role in self._rows(_USER_MEMBERS.format(user=self.user_table)):
            yield int(pid), int(uid), str(uname), int(role)


__all__ = ["HarborRows"]
