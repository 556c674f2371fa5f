"""A throwaway MariaDB/MySQL server from the local binary: temp data dir, free port.

Used by ``demo``, the ``local`` rehearsal backend, the benchmarks and the test
fixtures, so all of them start servers the same way. The server listens on
127.0.0.1 only and is torn down with its data directory.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import tempfile
from typing import Any, Iterable

from ..errors import ServerUnavailable
from ..mysql.connection import Database, connect_server
from ..settings import ConnectionSettings
from .throwaway import ThrowawayServer

_SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin", "/usr/libexec")


def find_binary(names: Iterable[str]) -> str | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for d in _SEARCH_DIRS:
            candidate = os.path.join(d, name)
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer(ThrowawayServer):
    """One mariadbd (or mysqld) process on a private data directory.

    ``options`` are extra server options, e.g. ``{"explicit-defaults-for-timestamp": "OFF"}``.
    """

    def __init__(self, options: dict[str, str] | None = None, base_dir: str | None = None,
                 keep: bool = False):
        self.server_bin = find_binary(["mariadbd", "mysqld"])
        self.install_bin = find_binary(["mariadb-install-db", "mysql_install_db"])
        if not self.server_bin or not self.install_bin:
            raise ServerUnavailable(
                "no local MariaDB/MySQL server binary found: install mariadb-server "
                "(apt-get install mariadb-server) or use the docker backend")
        self.options = dict(options or {})
        self.keep = keep
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="harbor-migrate-db-", dir=base_dir))
        self.datadir = self.dir / "data"
        self.socket = str(self.dir / "mysqld.sock")
        self.log = self.dir / "error.log"
        # Its own tmpdir: a server starting up deletes every "#sql*" file in its tmpdir (leftover
        # temporary tables, it assumes), so with the default /tmp a throwaway server would delete
        # the temporary tables of any other server on this host that uses /tmp, production's too.
        self.tmpdir = self.dir / "tmp"
        self.tmpdir.mkdir()
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._installed = False

    # -- lifecycle -----------------------------------------------------------------
    def _user_args(self) -> list[str]:
        return ["--user=root"] if os.geteuid() == 0 else []

    def install(self) -> None:
        # --no-defaults: a my.cnf on the machine must not change (or break) a throwaway server
        cmd = [self.install_bin, "--no-defaults", *self._user_args(), f"--datadir={self.datadir}",
               f"--tmpdir={self.tmpdir}",
               "--auth-root-authentication-method=normal", "--skip-test-db"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            lines = (res.stderr or res.stdout).strip().splitlines()
            errors = [ln for ln in lines if "ERROR" in ln and "Aborting" not in ln] or lines[-1:] or ["?"]
            raise ServerUnavailable(f"mariadb-install-db failed: {errors[-1]}")
        self._installed = True

    def start(self, timeout: float = 60.0) -> "LocalServer":
        if not self._installed:
            self.install()
        cmd = [self.server_bin, "--no-defaults", *self._user_args(), f"--datadir={self.datadir}",
               f"--tmpdir={self.tmpdir}", f"--socket={self.socket}", f"--port={self.port}", "--bind-address=127.0.0.1",
               "--skip-log-bin", "--skip-name-resolve", f"--pid-file={self.dir / 'mysqld.pid'}",
               f"--log-error={self.log}", "--innodb-flush-log-at-trx-commit=2",
               "--innodb-buffer-pool-size=256M", "--max-connections=200"]
        cmd += [f"--{k}={v}" for k, v in self.options.items()]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        self._wait_ready(timeout, lambda: connect_server(self._root(), connect_timeout=2).close())
        return self

    def kill9(self) -> None:
        """Crash the server as a power cut would (for fault-injection tests)."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def ensure_running(self) -> bool:
        """Restart the server on its data dir if its process has gone; True when it had to."""
        if self.proc is not None and self.proc.poll() is None:
            return False
        self.proc = None
        self.start()
        return True

    # -- access --------------------------------------------------------------------
    def _root(self) -> ConnectionSettings:
        return ConnectionSettings(unix_socket=self.socket, user="root", password="", database="")

    def root_db(self, database: str | None = None, **kw: Any) -> Database:
        """root over the socket, in autocommit, on ``database`` (or none), the server's own session."""
        return connect_server(self._root(), database=database, **kw)

    def root_connection(self, database: str | None = None, **kw: Any) -> Any:
        """The driver's connection of ``root_db``, for tests and benchmarks that hold one open or use
        its cursors (the driver itself stays inside migrator.mysql)."""
        return self.root_db(database, **kw).conn

    def admin(self, *statements: str) -> None:
        with self.root_db() as db:
            for sql in statements:
                db.execute(sql)

    def create_user(self, user: str, password: str, grants: str = "ALL PRIVILEGES", on: str = "*.*") -> None:
        self.admin(f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY '{password}'",
                   f"CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY '{password}'",
                   f"GRANT {grants} ON {on} TO '{user}'@'127.0.0.1'",
                   f"GRANT {grants} ON {on} TO '{user}'@'localhost'")

    def settings(self, database: str, user: str = "root", password: str = "", tcp: bool = False) -> ConnectionSettings:
        """Settings to reach ``database``: root over the socket, or a user over TCP."""
        if tcp:
            return ConnectionSettings(host="127.0.0.1", port=self.port, user=user, password=password,
                                      database=database)
        return ConnectionSettings(unix_socket=self.socket, user=user, password=password, database=database)

    def create_database(self, name: str, charset: str = "utf8") -> None:
        self.admin(f"DROP DATABASE IF EXISTS `{name}`", f"CREATE DATABASE `{name}` CHARACTER SET {charset}")
