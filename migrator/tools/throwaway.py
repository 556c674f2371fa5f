"""The lifecycle both throwaway servers share (``LocalServer``, ``LocalPostgres``).

A subclass sets ``dir`` (the temp directory, removed by ``destroy`` unless
``keep``), ``log`` (the server's log file), ``proc`` and ``keep``, and says how
it starts, how it is pinged and which signal stops it; waiting for readiness,
stopping by the pid it started and the context-manager protocol are written once
here, so the MariaDB and the PostgreSQL servers behave alike in tests and demos.
"""
from __future__ import annotations

import contextlib
import pathlib
import shutil
import signal
import subprocess
import time
from typing import Callable

from ..errors import MigratorError, ServerUnavailable


class ThrowawayServer:
    dir: pathlib.Path
    log: pathlib.Path
    keep: bool
    proc: subprocess.Popen | None

    #: how the server is named in messages ("the local server exited at start ...")
    _what = "the local server"
    #: log lines worth quoting when the server exits at start
    _log_markers: tuple[str, ...] = ("ERROR",)
    #: the signal of a clean stop
    _stop_signal = signal.SIGTERM
    #: the pause between two readiness pings
    _ping_interval = 0.1

    def start(self, timeout: float = 60.0) -> "ThrowawayServer":
        raise NotImplementedError

    def _wait_ready(self, timeout: float, ping: Callable[[], None]) -> None:
        """Ping until the started process accepts connections; a process that exits, or a
        ``timeout`` that passes, raises ServerUnavailable (the latter after stopping it)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.proc = None
                raise ServerUnavailable(f"{self._what} exited at start; see {self.log}: {self._log_tail()}")
            try:
                ping()
                return
            except MigratorError:
                time.sleep(self._ping_interval)
        self.stop()
        raise ServerUnavailable(f"{self._what} did not accept connections within {timeout:.0f}s")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            lines = self.log.read_text(errors="replace").strip().splitlines()
            errors = [ln for ln in lines if any(marker in ln for marker in self._log_markers)]
            return (errors or lines or ["(empty log)"])[-1]
        return "(no log)"

    def stop(self) -> None:
        """Stop by the pid we started (``_stop_signal``), killed if it takes over 30 s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(self._stop_signal)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def destroy(self) -> None:
        self.stop()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.destroy()
