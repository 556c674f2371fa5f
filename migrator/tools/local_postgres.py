"""A throwaway PostgreSQL cluster from the local binaries: temp data dir, free port.

The PostgreSQL twin of ``local_server.LocalServer``, for the 1.6.0 target in
tests, rehearsals and demos: Debian's ``postgresql`` package (the newest
``/usr/lib/postgresql/*/bin``), listening on 127.0.0.1 only, its socket in its
own temp dir, ``fsync=off`` (nothing here outlives the process), torn down with
its data. PostgreSQL refuses to run as root, so as root the cluster runs as an
unprivileged system user created once (``harbor-migrate-pg``).

Local connections (the socket) are trusted; TCP needs md5/SCRAM passwords, as
Harbor's own account would. ``create_role(..., md5=True)`` stores an md5
password because Harbor 1.6.0's lib/pq cannot do SCRAM (harbor-facts §2.9).
"""
from __future__ import annotations

import contextlib
import glob
import os
import pathlib
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time

from ..common.files import write_private
from ..errors import ServerUnavailable
from ..postgres.connection import connect_pg
from ..postgres.settings import PgSettings, quote_ident, quote_literal
from .local_server import free_port
from .throwaway import ThrowawayServer

RUN_AS = "harbor-migrate-pg"
SUPERUSER = "postgres"


def find_pg_bindir() -> str | None:
    """The newest ``/usr/lib/postgresql/<version>/bin`` holding initdb and postgres (or PATH's)."""
    def version(path: str) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", path.split("/")[-2]))

    candidates = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
                  if os.access(os.path.join(d, "initdb"), os.X_OK) and os.access(os.path.join(d, "postgres"), os.X_OK)]
    if candidates:
        return max(candidates, key=version)
    initdb, postgres = shutil.which("initdb"), shutil.which("postgres")
    if initdb and postgres and os.path.dirname(initdb) == os.path.dirname(postgres):
        return os.path.dirname(initdb)
    return None


def _ensure_system_user(name: str) -> pwd.struct_passwd:
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(name)
    res = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                         capture_output=True, text=True)
    # 9 = the name exists: another process created it meanwhile, which is as good
    if res.returncode not in (0, 9):
        raise ServerUnavailable(f"cannot create the system user {name} to run PostgreSQL (it refuses to run "
                                f"as root): {(res.stderr or res.stdout).strip() or res.returncode}")
    return pwd.getpwnam(name)


class LocalPostgres(ThrowawayServer):
    """One ``postgres`` process on a private data directory.

    ``options`` are extra server settings (``-c name=value``); ``timezone`` the
    server's ``TimeZone`` (tests that prove no time-zone shift start one far from UTC).
    """

    _what = "the local PostgreSQL"
    _log_markers = ("FATAL", "ERROR")
    # fast shutdown: clients disconnected, a clean checkpoint
    _stop_signal = signal.SIGINT
    _ping_interval = 0.05

    def __init__(self, options: dict[str, str] | None = None, timezone: str = "UTC",
                 base_dir: str | None = None, keep: bool = False):
        self.bindir = find_pg_bindir()
        if not self.bindir:
            raise ServerUnavailable("no local PostgreSQL server binary found: install postgresql "
                                    "(apt-get install postgresql)")
        self.options = dict(options or {})
        self.timezone = timezone
        self.keep = keep
        # The account first: a failure here must not leave a temp dir behind.
        account = _ensure_system_user(RUN_AS) if os.geteuid() == 0 else None
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="harbor-migrate-pg-", dir=base_dir))
        self.datadir = self.dir / "data"
        self.socket_dir = str(self.dir)
        self.log = self.dir / "postgres.log"
        self.port = free_port()
        self.superuser_password = secrets.token_hex(12)
        self.proc: subprocess.Popen | None = None
        self._installed = False
        self._prefix: list[str] = []
        if account is not None:
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            uid = str(account.pw_uid)
            setpriv = shutil.which("setpriv")
            self._prefix = ([setpriv, "--reuid", uid, "--regid", str(account.pw_gid), "--clear-groups"] if setpriv
                            else ["runuser", "-u", RUN_AS, "--"])
            self._owner: tuple[int, int] | None = (account.pw_uid, account.pw_gid)
        else:
            self._owner = None

    def _bin(self, name: str) -> str:
        return os.path.join(self.bindir, name)  # type: ignore[arg-type]

    # -- lifecycle -----------------------------------------------------------------
    def install(self) -> None:
        pwfile = self.dir / "pwfile"
        write_private(pwfile, self.superuser_password + "\n")
        if self._owner:
            os.chown(pwfile, *self._owner)
        cmd = [*self._prefix, self._bin("initdb"), "-D", str(self.datadir), "-U", SUPERUSER,
               f"--pwfile={pwfile}", "--auth-local=trust", "--auth-host=md5", "-E", "UTF8",
               "--locale=C.UTF-8", "--no-sync"]
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=self.dir)
        pwfile.unlink(missing_ok=True)
        if res.returncode != 0:
            lines = (res.stderr or res.stdout).strip().splitlines() or ["?"]
            raise ServerUnavailable(f"initdb failed: {lines[-1]}")
        self._installed = True

    def start(self, timeout: float = 60.0) -> "LocalPostgres":
        if not self._installed:
            self.install()
        settings = {
            "listen_addresses": "127.0.0.1", "port": str(self.port),
            "unix_socket_directories": self.socket_dir, "fsync": "off", "synchronous_commit": "off",
            "full_page_writes": "off", "timezone": self.timezone, "log_timezone": "UTC",
            "max_connections": "100", "shared_buffers": "64MB",
        }
        settings.update(self.options)
        cmd = [*self._prefix, self._bin("postgres"), "-D", str(self.datadir)]
        for key, value in settings.items():
            cmd += ["-c", f"{key}={value}"]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir,
                                         start_new_session=True)
        self._wait_ready(timeout, lambda: connect_pg(self.superuser_settings(connect_timeout=2)).close())
        return self

    def kill9(self) -> None:
        """Crash the server as a power cut would (for fault-injection tests); ``start()`` brings it
        back on the same data directory, through crash recovery.

        The whole process group, not only the postmaster: backends left orphaned would keep
        the shared memory, and a new postmaster refuses to start beside them."""
        if self.proc and self.proc.poll() is None:
            group = self.proc.pid                          # its own session (start_new_session)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            self.proc.wait()
            _wait_group_gone(group)
        self.proc = None

    # -- access --------------------------------------------------------------------
    def superuser_settings(self, database: str = "postgres", connect_timeout: int = 10) -> PgSettings:
        return PgSettings(host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.superuser_password,
                          database=database, connect_timeout=connect_timeout)

    def superuser_dsn(self, database: str = "postgres") -> str:
        return self.superuser_settings(database).dsn()

    def settings(self, database: str = "registry", user: str = SUPERUSER, password: str | None = None) -> PgSettings:
        """Settings to reach ``database`` over TCP; the superuser's password unless another user is named."""
        if user == SUPERUSER and password is None:
            password = self.superuser_password
        return PgSettings(host="127.0.0.1", port=self.port, user=user, password=password, database=database)

    def dsn(self, database: str = "registry", user: str = SUPERUSER, password: str | None = None) -> str:
        return self.settings(database, user, password).dsn()

    def admin(self, *statements: str, database: str = "postgres") -> None:
        with connect_pg(self.superuser_settings(database)) as db:
            for statement in statements:
                db.execute(statement)

    def create_role(self, name: str, password: str, md5: bool = True) -> None:
        """A login role (created, or its password reset); md5 for Harbor 1.6.0's lib/pq."""
        with connect_pg(self.superuser_settings()) as db:
            db.execute(f"SET password_encryption = {'md5' if md5 else 'scram-sha-256'!r}")
            exists = db.scalar("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
            verb = "ALTER" if exists else "CREATE"
            db.execute(f"{verb} ROLE {quote_ident(name)} LOGIN PASSWORD {quote_literal(password)}")

    def create_database(self, name: str, owner: str | None = None, encoding: str = "UTF8") -> None:
        """A fresh database (dropped first if it exists), from template0 so any encoding works."""
        self.admin(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)",
                   f"CREATE DATABASE {quote_ident(name)} TEMPLATE template0 ENCODING {quote_literal(encoding)}"
                   + (f" OWNER {quote_ident(owner)}" if owner else ""))


def _wait_group_gone(group: int, timeout: float = 30.0) -> None:
    """Wait until no live process is left in ``group``. SIGKILL is delivered at once but a
    busy machine may take a while to run the orphaned backends' exit; until they have
    detached the shared memory, a new postmaster on the data directory refuses to start
    ("pre-existing shared memory block is still in use"). Zombies count as gone: they hold
    no memory, and nobody here reaps them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
            state != "Z" and pgrp == group for _pid, state, pgrp in _process_stats()):
        time.sleep(0.02)


def _process_stats():
    """(pid, state, process group) of every process, from /proc/PID/stat."""
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = pathlib.Path(stat).read_text()
            after_name = text[text.rindex(")") + 2:].split()   # the name may hold spaces and parentheses
            yield int(text.split(" ", 1)[0]), after_name[0], int(after_name[2])
