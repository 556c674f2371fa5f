"""verify: schema, data against the snapshot, and the live Harbor services."""
from __future__ import annotations

import dataclasses

from ..mysql.connection import connect
from ..errors import ExitCode, UsageError
from ..safety.journal import Journal
from ..schema.introspect import introspect
from ..settings import ConnectionSettings
from ..archive.frames import verify_snapshot as check
from ..common.files import write_private
from ..verdicts import Check, Verdict
from ..archive.manifest import Manifest, snapshot_paths
from ..verify import SECTIONS
from ..verify.database import verify_data, verify_schema
from ..chain.status import check_is_harbor
from ..verify.adminserver import RELEASE_152, Release, verify_adminserver
from ..verify.registry import verify_registry
from ..verify.harbor_api import verify_harbor


@dataclasses.dataclass
class VerifyReport:
    database: str
    sections: dict[str, list]
    snapshot: str | None = None        # the manifest data was compared with
    not_compared: str | None = None    # why data was not compared with a snapshot, when it was wanted

    @property
    def checks(self) -> list:
        return [c for checks in self.sections.values() for c in checks]

    @property
    def ok(self) -> bool:
        return not any(c.status.value == "fail" for c in self.checks)

    def exit_code(self) -> int:
        codes = {c.exit_code or 13 for c in self.checks if c.status.value == "fail"}
        if not codes:
            return 0
        return codes.pop() if len(codes) == 1 else 13

    @property
    def verdict(self) -> str:
        """``consistent`` / ``NOT consistent``, saying so when data was not compared with a snapshot."""
        return ("consistent" if self.ok else "NOT consistent") + (f" ({self.not_compared})" if self.not_compared
                                                                  else "")

    def to_json(self) -> dict:
        return {"database": self.database, "ok": self.ok, "verdict": self.verdict, "snapshot": self.snapshot,
                "sections": {k: [c.to_json() for c in v] for k, v in self.sections.items()}}

    def markdown(self) -> str:
        lines = [f"# harbor-migrate verification of {self.database}", "",
                 f"Result: **{'consistent' if self.ok else 'NOT consistent'}**"
                 + (f" ({self.not_compared})" if self.not_compared else ""), ""]
        for section, checks in self.sections.items():
            lines += [f"## {section}", "", "| check | status | result |", "| --- | --- | --- |"]
            for c in checks:
                lines.append(f"| {c.name} | {c.status.value} | {c.message.replace('|', '/')} |")
            details = [(c.name, d) for c in checks for d in c.details]
            if details:
                lines += ["", "Details:", ""] + [f"- {n}: {d}" for n, d in details[:500]]
            lines.append("")
        return "\n".join(lines)

    def write_markdown(self, path: str) -> None:
        """The report for a ticket or a change record, readable by its owner only (it names the database)."""
        write_private(path, self.markdown())


def verify_snapshot(path: str):
    """Check a snapshot against its manifest (the file's hash, then each piece's rows); its Manifest."""
    return check(path)




def last_upgrade_snapshot(journal: Journal) -> str | None:
    """The snapshot the last upgrade of this database recorded in its journal (None: none did).

    A resumed run takes none, so the last "snapshot" event is still the one its upgrade began
    from (``_snapshot_or_previous``); a rehearsal's records are about a throwaway copy."""
    path = None
    for e in journal.events():
        if e.get("event") == "snapshot" and e.get("path") and not e.get("rehearsal"):
            path = str(e["path"])
    return path


def service_sections(sections: dict[str, list], wanted: tuple[str, ...], only: tuple[str, ...], rows, conn, *,
                     adminserver: str | None = None, adminserver_secret: str | None = None,
                     registry: str | None = None, registry_user: str | None = None,
                     registry_password: str | None = None, harbor: str | None = None,
                     harbor_user: str | None = None, harbor_password: str | None = None, timeout: float = 10.0,
                     harbor_db_user: str | None = None, release: Release = RELEASE_152) -> None:
    """The adminserver, registry and Harbor API sections, one Harbor release's: ``rows`` is where the
    repository rows come from (the MySQL Database, or a HarborRows of the PostgreSQL target), ``conn``
    the database the adminserver must name (ConnectionSettings, or the target's PgSettings)."""
    if "adminserver" in wanted:
        if adminserver:
            harbor_conn = dataclasses.replace(conn, user=harbor_db_user) if harbor_db_user else conn
            sections["adminserver"] = verify_adminserver(adminserver, adminserver_secret, harbor_conn,
                                                         timeout=timeout, release=release)
        elif only:
            sections["adminserver"] = [Check("adminserver", Verdict.FAIL, "--adminserver URL is required",
                                             exit_code=2)]
    if "registry" in wanted:
        if registry:
            sections["registry"] = verify_registry(rows, registry, username=registry_user,
                                                   password=registry_password, timeout=timeout)
        elif only:
            sections["registry"] = [Check("registry", Verdict.FAIL, "--registry URL is required", exit_code=2)]
    if "harbor" in wanted:
        if harbor:
            sections["harbor"] = verify_harbor(rows, harbor, username=harbor_user or "admin",
                                               password=harbor_password or "", timeout=timeout,
                                               expected_version="v" + release.name.rsplit(".", 1)[0])
        elif only:
            sections["harbor"] = [Check("harbor", Verdict.FAIL, "--harbor URL is required", exit_code=2)]


def skipped_sections(sections: dict[str, list], wanted: tuple[str, ...]) -> None:
    skipped = [s for s in wanted if s not in sections]
    if skipped:
        sections["skipped"] = [Check(s, Verdict.SKIP, f"not checked: pass --{s} URL" if s != "data" else
                                     "not checked") for s in skipped]


def verify(settings: ConnectionSettings, *, only: tuple[str, ...] = (), snapshot: str | None = None,
           with_admiral: bool = False, adminserver: str | None = None, adminserver_secret: str | None = None,
           registry: str | None = None, registry_user: str | None = None, registry_password: str | None = None,
           harbor: str | None = None, harbor_user: str | None = None, harbor_password: str | None = None,
           timeout: float = 10.0, harbor_db_user: str | None = None, no_snapshot: bool = False,
           journal: Journal | None = None) -> VerifyReport:
    """Every requested section; a section whose endpoint is not given is skipped with a note.

    Data is compared with ``snapshot``, else with the snapshot of this database's last upgrade
    (its journal), unless ``no_snapshot``: then only the invariants, and the verdict says so.
    """
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        raise UsageError(f"unknown section(s) {', '.join(unknown)}: choose from {', '.join(SECTIONS)}")
    if snapshot and no_snapshot:
        raise UsageError("--snapshot and --no-snapshot contradict each other: pass one of them")
    wanted = only or SECTIONS
    sections: dict[str, list] = {}
    manifest_path = not_compared = None
    with connect(settings) as db:

        check_is_harbor(introspect(db), db)
        if "schema" in wanted:
            sections["schema"] = [verify_schema(db)]
        if "data" in wanted:
            recorded = None if snapshot or no_snapshot else last_upgrade_snapshot(journal or Journal(settings))
            snapshot = snapshot or recorded
            manifest_path = str(snapshot_paths(snapshot)[1]) if snapshot else None
            if recorded and not snapshot_paths(recorded)[1].exists():
                sections["data"] = [c for c in verify_data(db, None) if c.name != "data"] + [Check(
                    "data.snapshot", Verdict.FAIL, f"{manifest_path}, the snapshot of this database's last upgrade "
                    "(journal), is gone: pass --snapshot with its copy, or --no-snapshot to check the invariants only",
                    exit_code=int(ExitCode.SNAPSHOT_INVALID))]
                manifest_path = None
            else:
                manifest = Manifest.load(snapshot) if snapshot else None
                sections["data"] = verify_data(db, manifest, with_admiral=with_admiral,
                                               dump=snapshot_paths(snapshot)[0] if snapshot else None)
                if recorded:
                    sections["data"].insert(0, Check("data.snapshot", Verdict.OK, f"compared with {manifest_path}, "
                                                     "the snapshot of this database's last upgrade (journal)"))
            if not snapshot:
                compared = ("schema and invariants only" if "schema" in wanted else "invariants only")
                not_compared = f"{compared}: " + ("--no-snapshot" if no_snapshot else "no snapshot to compare data with")
        service_sections(sections, wanted, only, db, settings, adminserver=adminserver,
                         adminserver_secret=adminserver_secret, registry=registry, registry_user=registry_user,
                         registry_password=registry_password, harbor=harbor, harbor_user=harbor_user,
                         harbor_password=harbor_password, timeout=timeout, harbor_db_user=harbor_db_user)
    skipped_sections(sections, wanted)
    return VerifyReport(settings.masked_dsn(), sections, manifest_path if "data" in wanted else None, not_compared)
