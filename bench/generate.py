"""A deterministic generator of Harbor 0.5.0 databases (revision 0.4.0) at scale.

    python bench/generate.py --dsn mysql://root@127.0.0.1:3306/registry --log-rows 1000000 --seed 1

The tables and base rows come from our own 0.5.0 model (``migrator.tools.seed.create_schema_050``),
so the server applies its own timestamp rules exactly as on a real install. Every row
is then made on the server, set-based, by ``INSERT … SELECT`` from MariaDB's Sequence
engine (``seq_1_to_N``; MariaDB only — MySQL has no such engine). Each value is a
function of the row number and the seed (``CRC32('seed:salt:n')``), never of ``RAND()``
or of the clock (the session clock is pinned), so the same seed and scale give the same
bytes on any server, and 1M access_log rows load in seconds.

What the data looks like (the shares are fixed, the rows deterministic):

- users: ids 3…U with a gap every 97th id (accounts removed by hand, as old databases
  have); 4 % non-Latin-1 names (``zhang张``, ``émile``, ``юлия`` …), 4 % soft-deleted the
  way Harbor deletes (``name#id``, ``email#id``), 1 % system admins;
- projects: lowercase names (Harbor's rule), 30 % public, 3 % soft-deleted (``name#id``);
  members: the owner (projectAdmin) plus developers/guests;
- repositories: 8 per project on average (none left in deleted projects), pull counts skewed;
- access_log: pulls dominate (78 % pull, 17 % push, 3 % delete, 2 % create); ten heavy
  users (CI robots) make 80 % of pushes and deletes; pulls are skewed towards few users
  and few popular repositories; ``op_time`` climbs with ``log_id`` over two years;
  0.3 % of the rows name a user id that no longer exists (the removed accounts), as
  real databases have; project ids always exist (deleted projects keep their rows);
- replication targets, policies (70 % enabled, those of deleted projects deleted) and jobs
  (85 % finished; the repository is one of the policy's project).

The default scale follows ``log_rows`` (users = log_rows/400, at least 120, projects =
users/5, repositories = 8 per project, jobs = log_rows/50); every count can be set.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from typing import Callable

if __package__ in (None, ""):  # run as a script: make `bench` and `migrator` importable
    import pathlib
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from migrator.mysql.connection import Database, connect  # noqa: E402
from migrator.errors import MigratorError  # noqa: E402
from migrator.tools.seed import create_schema_050  # noqa: E402
from migrator.settings import ConnectionSettings, resolve_connection  # noqa: E402

EPOCH = "2016-06-01 00:00:00"          # when the generated registry went live
SPAN_SECONDS = 2 * 365 * 86400          # two years of history
GAP = 97                                # every 97th user id was removed by hand
HEAVY_USERS = 10                        # ids 3..12: the robots that push most
TWO32 = 4294967296.0

_FIRST = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
          "niaj", "olivia", "peggy", "rupert", "sybil")
_UNICODE = ("zhang张", "émile", "jürgen", "юлия", "søren", "李娜", "óscar", "ayşe")
_REAL = ("Alice Adams", "Bob Brown", "Carol Chen", "Dave Dunn", "Erin Eze", "Frank Fox", "Grace Gu",
         "Heidi Hahn", "Ivan Ito", "Judy Jones", "Mallory M", "Niaj N", "Olivia O", "Peggy P", "Rupert R",
         "Sybil S")
_REAL_UNICODE = ("张三", "Émile Zola", "Jürgen Groß", "Юлия Ким", "Søren Ås", "李娜", "Óscar Ñúñez", "Ayşe Öz")
_TEAMS = ("team", "app", "infra", "data", "ml", "web", "mobile", "platform", "ops", "sec", "qa", "tools")
_WORDS = ("alpha", "beta", "gamma", "delta", "core", "edge", "cloud", "base", "prod", "dev")
_IMAGES = ("nginx", "redis", "api", "web", "worker", "db", "cache", "proxy", "auth", "billing", "search",
           "frontend", "backend", "cron", "gateway", "metrics", "logger", "queue", "builder", "runner")


def _elt(index_sql: str, words: tuple[str, ...]) -> str:
    """``ELT(1 + index % n, 'w1', …)``: a word picked by a hash."""
    quoted = ", ".join("'" + w.replace("'", "''") + "'" for w in words)
    return f"ELT(1 + ({index_sql}) % {len(words)}, {quoted})"


@dataclasses.dataclass(frozen=True)
class Scale:
    log_rows: int
    users: int            # generated user ids (3 … users + 2), gaps included
    projects: int         # generated projects besides 'library'
    repositories: int
    extra_members: int    # per project, besides the owner (duplicates collapse)
    targets: int
    policies: int
    jobs: int

    @classmethod
    def for_rows(cls, log_rows: int, **overrides: int | None) -> "Scale":
        users = max(120, log_rows // 400)
        projects = max(10, users // 5)
        values = dict(log_rows=log_rows, users=users, projects=projects, repositories=projects * 8,
                      extra_members=2, targets=max(2, projects // 100), policies=max(3, projects // 10),
                      jobs=max(10, log_rows // 50))
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["users"] < 100:
            raise ValueError("users must be at least 100 (removed accounts are every 97th id)")
        return cls(**values)


@dataclasses.dataclass
class Generated:
    database: str
    seed: int
    scale: Scale
    counts: dict[str, int]
    seconds: dict[str, float]

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


class _Gen:
    def __init__(self, db: Database, seed: int, scale: Scale, progress: Callable[[str], None]):
        self.db = db
        self.seed = int(seed)
        self.s = scale
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self.max_user = scale.users + 2
        if self.max_user % GAP == 0:
            self.max_user += 1  # the last id must exist, see _live()

    # -- deterministic functions of (seed, salt, row number) -------------------------
    def h(self, salt: str, n: str = "seq") -> str:
        """A 32-bit hash of the row number: the source of every 'random' choice."""
        return f"CRC32(CONCAT('{self.seed}:{salt}:', {n}))"

    def u(self, salt: str, n: str = "seq") -> str:
        """The same as a fraction in [0, 1)."""
        return f"({self.h(salt, n)} / {TWO32})"

    def _live(self, expr: str) -> str:
        """Map a candidate id in [3, max_user] to an existing user (skip the removed ones)."""
        return f"(({expr}) + (({expr}) % {GAP} = 0))"

    def any_user(self, salt: str, n: str = "seq") -> str:
        return self._live(f"3 + {self.h(salt, n)} % {self.max_user - 2}")

    def skewed_user(self, salt: str, power: float, n: str = "seq") -> str:
        return self._live(f"3 + FLOOR({self.max_user - 2} * POW({self.u(salt, n)}, {power}))")

    def time_at(self, position_sql: str, total: int, jitter_salt: str, n: str = "seq") -> str:
        """A timestamp climbing with ``position`` over the two years, with a little jitter."""
        step = max(1, SPAN_SECONDS // max(1, total))
        return (f"TIMESTAMP('{EPOCH}') + INTERVAL (FLOOR(({position_sql}) * {SPAN_SECONDS} / {max(1, total)}) "
                f"+ {self.h(jitter_salt, n)} % {step}) SECOND")

    def run(self, label: str, *statements: str) -> None:
        t0 = time.monotonic()
        for sql in statements:
            self.db.execute(sql)
        self.seconds[label] = self.seconds.get(label, 0.0) + time.monotonic() - t0

    # -- tables ------------------------------------------------------------------------
    def users(self) -> None:
        h, h2 = self.h("u"), self.h("u2")
        unicode_ = f"({h2} % 100 < 4)"
        deleted = f"(({h2} DIV 100) % 100 < 4)"
        base = (f"IF({unicode_}, CONCAT({_elt(h, _UNICODE)}, seq), "
                f"CONCAT({_elt(h, _FIRST)}, '.', seq))")
        email = f"CONCAT({_elt(h, _FIRST)}, '.', seq, '@example.com')"
        self.run("user", f"""
INSERT INTO user (user_id, username, email, password, realname, comment, deleted, reset_uuid, salt,
                  sysadmin_flag, creation_time, update_time)
SELECT seq,
       IF({deleted}, CONCAT({base}, '#', seq), {base}),
       IF({deleted}, CONCAT({email}, '#', seq), {email}),
       SHA1(CONCAT('{self.seed}:pw:', seq)),
       IF({unicode_}, {_elt(h, _REAL_UNICODE)}, {_elt(h, _REAL)}),
       IF({h2} % 7 = 0, 'registered via UI', NULL),
       {deleted},
       NULL,
       LEFT(MD5(CONCAT('{self.seed}:salt:', seq)), 32),
       ((({h2} DIV 10000) % 100) = 0),
       {self.time_at('seq', self.max_user, 'uc')},
       {self.time_at('seq', self.max_user, 'uc')} + INTERVAL ({h2} % 90) DAY
FROM seq_3_to_{self.max_user}
WHERE seq % {GAP} <> 0""")

    def projects(self) -> None:
        """``_p`` holds every project with its name before deletion (the log uses it)."""
        h, h2 = self.h("p"), self.h("p2")
        last = self.s.projects + 1
        self.run("project", "DROP TEMPORARY TABLE IF EXISTS _p", """
CREATE TEMPORARY TABLE _p (project_id INT PRIMARY KEY, owner_id INT NOT NULL, name VARCHAR(64) NOT NULL,
                           deleted TINYINT NOT NULL, public TINYINT NOT NULL, created TIMESTAMP NULL)""",
                 "INSERT INTO _p SELECT project_id, owner_id, name, deleted, public, creation_time "
                 "FROM project WHERE project_id = 1", f"""
INSERT INTO _p
SELECT seq, {self.skewed_user('po', 2.0)},
       CONCAT({_elt(h, _TEAMS)}, '-', {_elt(f'{h} DIV 12', _WORDS)}, '-', seq),
       ({h2} % 100 < 3), ({h2} DIV 100) % 100 < 30,
       {self.time_at('seq', last, 'pc')}
FROM seq_2_to_{last}""", """
INSERT INTO project (project_id, owner_id, name, creation_time, update_time, deleted, public)
SELECT project_id, owner_id, IF(deleted, CONCAT(name, '#', project_id), name), created,
       created + INTERVAL (project_id % 200) DAY, deleted, public
FROM _p WHERE project_id > 1 ORDER BY project_id""")

    def members(self) -> None:
        k = max(0, self.s.extra_members)
        statements = ["""
INSERT INTO project_member (project_id, user_id, role, creation_time, update_time)
SELECT project_id, owner_id, 1, created, created FROM _p WHERE project_id > 1 ORDER BY project_id"""]
        if k:
            statements.append(f"""
INSERT IGNORE INTO project_member (project_id, user_id, role, creation_time, update_time)
SELECT p.project_id, {self.any_user('m')}, 2 + ({self.h('m2')} % 100 < 40), p.created + INTERVAL (seq % 300) DAY,
       p.created + INTERVAL (seq % 300) DAY
FROM seq_1_to_{self.s.projects * k} s JOIN _p p ON p.project_id = 2 + (s.seq - 1) DIV {k}
ORDER BY s.seq""")
        self.run("project_member", *statements)

    def repositories(self) -> None:
        """``_repo`` is the catalogue of every repository that ever existed; the rows of
        deleted projects are not in ``repository`` (Harbor refuses to delete a project
        that has any), but their history is in the log."""
        n_proj = self.s.projects + 1
        h = self.h("r")
        self.run("repository", "DROP TEMPORARY TABLE IF EXISTS _repo", """
CREATE TEMPORARY TABLE _repo (r INT PRIMARY KEY, project_id INT NOT NULL, name VARCHAR(255) NOT NULL,
                              live TINYINT NOT NULL, owner_id INT NOT NULL, created TIMESTAMP NULL)""", f"""
INSERT INTO _repo
SELECT seq, p.project_id, CONCAT(p.name, '/', {_elt(h, _IMAGES)}, '-', seq), NOT p.deleted, p.owner_id,
       p.created + INTERVAL ({h} % 400) DAY
FROM seq_1_to_{self.s.repositories} s JOIN _p p ON p.project_id = 1 + (s.seq - 1) % {n_proj}""", f"""
INSERT INTO repository (repository_id, name, project_id, owner_id, description, pull_count, star_count,
                        creation_time, update_time)
SELECT r, name, project_id, owner_id, IF({self.h('rd', 'r')} % 10 = 0, CONCAT('Image ', name, ', built by CI'), NULL),
       FLOOR(20000 * POW({self.u('rp', 'r')}, 6)), FLOOR(20 * POW({self.u('rs', 'r')}, 8)),
       created, created + INTERVAL ({self.h('ru', 'r')} % 200) DAY
FROM _repo WHERE live ORDER BY r""")

    def access_log(self) -> None:
        n = self.s.log_rows
        if n <= 0:
            return
        h1, h2, h3 = self.h("l1"), self.h("l2"), self.h("l3")
        op = f"({h2} % 100)"
        orphan = f"(({h2} DIV 100) % 1000 < 3)"
        user = (f"CASE WHEN {orphan} THEN {GAP} * (1 + {h3} % {(self.max_user - 1) // GAP}) "
                f"WHEN {op} >= 78 AND {op} < 98 AND {h3} % 100 < 80 THEN 3 + {h3} % {HEAVY_USERS} "
                f"WHEN {op} >= 78 THEN {self.any_user('l4')} "
                f"ELSE {self.skewed_user('l3', 2.0)} END")
        tag = (f"IF({h3} % 100 < 35, 'latest', CONCAT('v', {h3} % 5, '.', ({h3} DIV 5) % 20, '.', "
               f"({h3} DIV 100) % 10))")
        self.run("access_log", f"""
INSERT INTO access_log (log_id, user_id, project_id, repo_name, repo_tag, GUID, operation, op_time)
SELECT s.seq,
       {user},
       r.project_id,
       IF({op} >= 98, CONCAT(SUBSTRING_INDEX(r.name, '/', 1), '/'), r.name),
       IF({op} >= 98, 'N/A', {tag}),
       IF({h3} % 10 < 4, LEFT(MD5(CONCAT('{self.seed}:g:', s.seq)), 32), NULL),
       CASE WHEN {op} < 78 THEN 'pull' WHEN {op} < 95 THEN 'push' WHEN {op} < 98 THEN 'delete' ELSE 'create' END,
       {self.time_at('s.seq', n, 'lt', 's.seq')}
FROM seq_1_to_{n} s
JOIN _repo r ON r.r = 1 + FLOOR({self.s.repositories} * POW({h1} / {TWO32}, 2.5))
ORDER BY s.seq""")

    def replication(self) -> None:
        t, pol, jobs = self.s.targets, self.s.policies, self.s.jobs
        n_proj = self.s.projects + 1
        per_project = max(1, self.s.repositories // n_proj)
        self.run("replication_target", f"""
INSERT INTO replication_target (id, name, url, username, password, target_type, creation_time, update_time)
SELECT seq, CONCAT({_elt(self.h('t'), ('dr', 'mirror', 'backup', 'edge', 'china', 'eu'))}, '-', seq),
       CONCAT('https://registry-', seq, '.example.com'), CONCAT('replicator', seq),
       CONCAT('<enc-v1>', TO_BASE64(UNHEX(SHA1(CONCAT('{self.seed}:tp:', seq))))), 0,
       {self.time_at('seq', t, 'tc')}, {self.time_at('seq', t, 'tc')}
FROM seq_1_to_{t}""")
        hp = self.h("rp")
        self.run("replication_policy", f"""
INSERT INTO replication_policy (id, name, project_id, target_id, enabled, description, deleted, cron_str,
                                start_time, creation_time, update_time)
SELECT s.seq, CONCAT('replicate-', p.name, '-', s.seq), p.project_id, 1 + {hp} % {t}, {hp} DIV {t} % 100 < 70,
       IF({hp} % 3 = 0, CONCAT('copy ', p.name, ' to the DR site'), NULL), p.deleted, NULL,
       IF({hp} % 2 = 0, p.created + INTERVAL 1 DAY, NULL), p.created + INTERVAL 1 HOUR,
       p.created + INTERVAL ({hp} % 100) DAY
FROM seq_1_to_{pol} s JOIN _p p ON p.project_id = 2 + {hp} % {n_proj - 1}
ORDER BY s.seq""")
        hj = self.h("j")
        status = ("CASE WHEN {x} < 85 THEN 'finished' WHEN {x} < 93 THEN 'error' WHEN {x} < 96 THEN 'stopped' "
                  "WHEN {x} < 98 THEN 'pending' ELSE 'running' END").format(x=f"({hj} % 100)")
        self.run("replication_job", f"""
INSERT INTO replication_job (id, status, policy_id, repository, operation, tags, creation_time, update_time)
SELECT s.seq, {status}, rp.id, r.name, IF(({hj} DIV 100) % 10 = 0, 'delete', 'transfer'),
       IF(({hj} DIV 1000) % 4 = 0, 'latest', CONCAT_WS(',', 'latest', CONCAT('v1.', {hj} % 30),
          CONCAT('v2.', {hj} % 7), IF({hj} % 5 = 0, 'stable', NULL))),
       {self.time_at('s.seq', jobs, 'jc', 's.seq')},
       {self.time_at('s.seq', jobs, 'jc', 's.seq')} + INTERVAL ({hj} % 900) SECOND
FROM seq_1_to_{jobs} s
JOIN replication_policy rp ON rp.id = 1 + {self.h('jp', 's.seq')} % {pol}
JOIN _repo r ON r.r = LEAST({self.s.repositories}, rp.project_id + ({hj} % {per_project}) * {n_proj})
ORDER BY s.seq""")


def _require_sequence_engine(db: Database) -> None:
    try:
        db.scalar("SELECT COUNT(*) FROM seq_1_to_3")
    except MigratorError:
        raise MigratorError("the generator needs MariaDB's Sequence engine (seq_1_to_N tables); "
                            "MySQL has none — generate on MariaDB and dump/restore if needed") from None


def generate(settings: ConnectionSettings, log_rows: int, seed: int = 1, *, replace: bool = False,
             progress: Callable[[str], None] = lambda _: None, **scale: int | None) -> Generated:
    """Fill the (empty, utf8) database of ``settings`` with a Harbor 0.5.0 database.

    ``scale`` overrides the counts of :class:`Scale` (users, projects, repositories,
    extra_members, targets, policies, jobs). ``replace`` drops the tables already there.
    """
    sc = Scale.for_rows(int(log_rows), **scale)
    with connect(settings) as db:
        _require_sequence_engine(db)
        existing = db.table_names()
        if existing and not replace:
            raise MigratorError(f"database {db.name!r} holds {len(existing)} table(s): generate into an empty "
                                "database, or pass replace=True / --replace")
        db.execute("SET SESSION foreign_key_checks = 0")
        db.execute("SET SESSION unique_checks = 0")
        for t in existing:
            db.execute(f"DROP TABLE `{t}`")
        # Pin the session clock: NOW() and DEFAULT CURRENT_TIMESTAMP give the same value every time.
        db.execute(f"SET SESSION timestamp = UNIX_TIMESTAMP('{EPOCH}')")
        g = _Gen(db, seed, sc, progress)
        t0 = time.monotonic()
        create_schema_050(db)
        g.seconds["schema"] = time.monotonic() - t0
        for part in (g.users, g.projects, g.members, g.repositories, g.access_log, g.replication):
            part()
            progress(f"  generated {part.__name__} ({sum(g.seconds.values()):.1f}s so far)")
        db.execute("DROP TEMPORARY TABLE IF EXISTS _p")
        db.execute("DROP TEMPORARY TABLE IF EXISTS _repo")
        db.execute("SET SESSION timestamp = DEFAULT")
        db.execute("SET SESSION unique_checks = 1")
        db.execute("SET SESSION foreign_key_checks = 1")
        counts = {t: int(db.scalar(f"SELECT COUNT(*) FROM `{t}`")) for t in db.table_names()}
        return Generated(db.name, int(seed), sc, counts, g.seconds)


def orphan_rows(settings: ConnectionSettings) -> int:
    """access_log rows whose user no longer exists."""
    with connect(settings) as db:
        return int(db.scalar("SELECT COUNT(*) FROM access_log a LEFT JOIN user u ON u.user_id = a.user_id "
                             "WHERE u.user_id IS NULL"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Generate a deterministic Harbor 0.5.0 database (MariaDB only).")
    p.add_argument("--dsn", required=True, help="mysql://user[:password]@host:port/database "
                   "(or HARBOR_MIGRATE_PASSWORD for the password)")
    p.add_argument("--log-rows", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    for name in ("users", "projects", "repositories", "extra-members", "targets", "policies", "jobs"):
        p.add_argument(f"--{name}", type=int, help="override the default scale")
    p.add_argument("--create-database", action="store_true", help="create the database (utf8) if missing")
    p.add_argument("--replace", action="store_true", help="drop the tables already in the database")
    args = p.parse_args(argv)
    settings = resolve_connection({"dsn": args.dsn})
    if args.create_database:
        import pymysql
        conn = pymysql.connect(**{**settings.pymysql_kwargs(), "database": None})
        try:
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS `{settings.database}` CHARACTER SET utf8")
        finally:
            conn.close()
    scale = {k: getattr(args, k) for k in ("users", "projects", "repositories", "extra_members", "targets",
                                           "policies", "jobs")}
    try:
        g = generate(settings, args.log_rows, args.seed, replace=args.replace,
                     progress=lambda m: print(m, file=sys.stderr), **scale)
    except MigratorError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(f"generated {settings.masked_dsn()} (seed {g.seed}) in {g.total_seconds:.1f}s")
    for table, n in sorted(g.counts.items()):
        print(f"  {table:22s} {n:>10d} rows")
    for part, s in g.seconds.items():
        print(f"  {part:22s} {s:10.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
