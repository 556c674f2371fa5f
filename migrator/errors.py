"""One exception root; every subclass carries the exit code the CLI returns.

The CLI maps an error to its code and prints its one-line message; nothing
below the CLI prints tracebacks. Messages name the fix.
"""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented in README.md; never renumber an existing code."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONNECTION = 3          # server unreachable, TLS failure, lost connection
    AUTH = 4                # wrong user or password
    DATABASE_MISSING = 5
    NOT_HARBOR = 6          # reachable database without Harbor's tables
    UNKNOWN_VERSION = 7     # revision unknown, newer than 1.5.0, or alembic_version lies
    PRIVILEGES = 8
    PREFLIGHT_FAILED = 9
    LOCKED = 10             # another harbor-migrate run holds the lock
    CLIENTS_CONNECTED = 11  # Harbor (or another client) still connected
    STEP_FAILED = 12        # a step failed; the database is resumable
    VERIFY_FAILED = 13
    SNAPSHOT_INVALID = 14
    TARGET_NOT_EMPTY = 15
    NO_SPACE = 16
    DATA_CONFLICT = 17      # rows that would break a new constraint
    ENDPOINT_UNREACHABLE = 18
    ENDPOINT_AUTH = 19
    ENDPOINT_PROTOCOL = 20  # not a v2 registry, malformed answers, endless paging
    CONFIG_INVALID = 21     # harbor.cfg problems
    KEY_INVALID = 22        # secretkey problems
    ABORTED = 23            # the user declined the confirmation
    SERVER_UNAVAILABLE = 24  # no local server binary / docker for throwaway servers
    INTERRUPTED = 130


class MigratorError(Exception):
    """Root of every error harbor-migrate reports to a user."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, exit_code: ExitCode | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.__class__.__name__


class UsageError(MigratorError):
    exit_code = ExitCode.USAGE


class ConnectionFailed(MigratorError):
    exit_code = ExitCode.CONNECTION


class AuthFailed(MigratorError):
    exit_code = ExitCode.AUTH


class DatabaseMissing(MigratorError):
    exit_code = ExitCode.DATABASE_MISSING


class NotHarbor(MigratorError):
    exit_code = ExitCode.NOT_HARBOR


class UnknownVersion(MigratorError):
    exit_code = ExitCode.UNKNOWN_VERSION


class MissingPrivileges(MigratorError):
    exit_code = ExitCode.PRIVILEGES


class PreflightFailed(MigratorError):
    exit_code = ExitCode.PREFLIGHT_FAILED


class Locked(MigratorError):
    exit_code = ExitCode.LOCKED


class ClientsConnected(MigratorError):
    exit_code = ExitCode.CLIENTS_CONNECTED


class StepFailed(MigratorError):
    exit_code = ExitCode.STEP_FAILED


class VerifyFailed(MigratorError):
    exit_code = ExitCode.VERIFY_FAILED


class SnapshotInvalid(MigratorError):
    exit_code = ExitCode.SNAPSHOT_INVALID


class TargetNotEmpty(MigratorError):
    exit_code = ExitCode.TARGET_NOT_EMPTY


class NoSpace(MigratorError):
    exit_code = ExitCode.NO_SPACE


class DataConflict(MigratorError):
    exit_code = ExitCode.DATA_CONFLICT


class EndpointUnreachable(MigratorError):
    exit_code = ExitCode.ENDPOINT_UNREACHABLE


class EndpointAuth(MigratorError):
    exit_code = ExitCode.ENDPOINT_AUTH


class EndpointProtocol(MigratorError):
    exit_code = ExitCode.ENDPOINT_PROTOCOL


class ConfigInvalid(MigratorError):
    exit_code = ExitCode.CONFIG_INVALID


class KeyInvalid(MigratorError):
    exit_code = ExitCode.KEY_INVALID


class Aborted(MigratorError):
    exit_code = ExitCode.ABORTED


class ServerUnavailable(MigratorError):
    exit_code = ExitCode.SERVER_UNAVAILABLE


class Interrupted(MigratorError):
    exit_code = ExitCode.INTERRUPTED
