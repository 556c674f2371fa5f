"""The ``local`` backend: a throwaway mariadbd/mysqld from the binary on this machine.

Needs no Docker and no image, so it works wherever MariaDB is installed (CI, a DBA's
host). The server is whatever version is installed, not production's: the label says
which, so ``rehearse`` can warn about the difference.
"""
from __future__ import annotations

import contextlib

from ...mysql.connection import connect
from ...errors import MigratorError, UsageError
from ..local_server import LocalServer
from ...settings import ConnectionSettings
from .backends import Backend


class LocalBackend(Backend):
    """One :class:`~migrator.tools.local_server.LocalServer`: temp datadir, free port, 127.0.0.1.

    Root logs in over the server's private socket with an empty password, so there is
    no secret to hand out; the TCP port is open on 127.0.0.1 for information only.
    """

    name = "local"
    supports_init_scripts = False

    def __init__(self, server_options: dict[str, str] | None = None, keep: bool = False,
                 base_dir: str | None = None, startup_timeout: float = 60.0):
        self.server_options = dict(server_options or {})
        self.keep = keep
        self.base_dir = base_dir
        self.startup_timeout = startup_timeout
        self._server: LocalServer | None = None
        self._label: str | None = None

    def start(self) -> ConnectionSettings:
        if self._server is not None:
            raise UsageError("this local backend is already started: stop() it first")
        server = LocalServer(options=self.server_options, base_dir=self.base_dir, keep=self.keep)
        self._server = server
        server.start(timeout=self.startup_timeout)
        settings = ConnectionSettings(host="127.0.0.1", port=server.port, user="root", password="",
                                      database="", unix_socket=server.socket)
        with contextlib.suppress(MigratorError), connect(settings) as db:
            self._label = f"{db.server_info().label} (local {server.server_bin})"
        return settings

    def stop(self) -> None:
        if self.keep:
            return  # left running on purpose; connect_hint() says how to remove it
        server, self._server = self._server, None
        if server is not None:
            server.keep = False  # a server kept earlier is removed now that it is stopped
            server.destroy()

    def connect_hint(self) -> str:
        if self._server is None:
            return "the local server is not running"
        s = self._server
        pid = s.proc.pid if s.proc else "?"
        return (f"mysql --socket={s.socket} -u root    (no password)\n"
                f"remove it with: kill {pid} && rm -rf {s.dir}")

    def server_label(self) -> str:
        if self._label:
            return self._label
        binary = self._server.server_bin if self._server else "mariadbd/mysqld on PATH"
        return f"local {binary}"
