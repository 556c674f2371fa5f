"""The server's own command-line clients, run as the data engine of snapshot and restore.

``mariadb-dump`` (or ``mysqldump``) renders a million rows in about a second, in C;
no Python driver comes close. We run it with the connection the user gave us,
passed in a private option file (never on the command line, where ``ps`` shows it),
and turn its exit status and stderr into our one-line errors.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import os
import re
import subprocess
import tempfile
from typing import Any, Callable, Iterable, Iterator

import pymysql

from ..errors import MigratorError, ServerUnavailable
from ..tools.local_server import find_binary
from ..settings import ConnectionSettings
from .connection import translate_error

DUMP_CLIENTS = ("mariadb-dump", "mysqldump")
SQL_CLIENTS = ("mariadb", "mysql")
_F_SETPIPE_SZ = 1031  # Linux: a 1 MiB pipe, far fewer context switches than the default 64 KiB (docs/benchmarks.md)
PIPE_BYTES = 1 << 20
READ_BYTES = 1 << 20    # one read per pipeful: a quarter of the wake-ups of 256 KiB reads (docs/benchmarks.md)

# How the snapshot dumps: consistent, primary-key order, no dump date (two dumps of the same
# data are byte-identical), no tablespaces (MySQL 8 would need PROCESS), no LOCK TABLES … WRITE
# around the rows (a MyISAM-era speed-up; restoring would need the privilege). The character
# set (and with it --hex-blob) is chosen per dump: see dump_charset.
DUMP_OPTIONS = ("--single-transaction", "--order-by-primary", "--skip-dump-date", "--no-tablespaces",
                "--skip-add-locks")
TEXT = "utf8mb4"   # rows converted to UTF-8 by the server, binary columns as hex
RAW = "binary"     # rows as stored, escaped byte by byte
_UTF8_FAMILY = {"utf8", "utf8mb3", "utf8mb4", "ascii"}
_PLAIN_TYPES = {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "float",
                "double", "real", "date", "datetime", "timestamp", "time", "year"}


def dump_charset(columns: Iterable[tuple[str, str | None]]) -> str:
    """The dump character set for tables with these (data type, character set) columns.

    ``binary`` when every column is a number, a date or UTF-8 (or ASCII) text: the client
    then writes exactly the bytes it would write in utf8mb4 (the server's conversion is the
    identity for them) but escapes them byte by byte instead of character by character,
    which costs the client less CPU (docs/benchmarks.md).
    Anything else (latin1 text, BLOB, BINARY, BIT, JSON, spatial) keeps ``utf8mb4`` with
    ``--hex-blob``, so that every snapshot's text is UTF-8 whatever the tables hold.
    """
    for data_type, charset in columns:
        if charset is None and data_type.lower() not in _PLAIN_TYPES:
            return TEXT
        if charset is not None and charset.lower() not in _UTF8_FAMILY:
            return TEXT
    return RAW


def table_dump_charsets(db: Any, tables: Iterable[str]) -> dict[str, str]:
    """table -> ``dump_charset`` of its columns, for ``tables`` of ``db``'s database."""
    columns: dict[str, list[tuple[str, str | None]]] = {t: [] for t in tables}
    for table, data_type, charset in db.query("SELECT TABLE_NAME, DATA_TYPE, CHARACTER_SET_NAME FROM "
                                              "information_schema.COLUMNS WHERE TABLE_SCHEMA = %s", (db.name,)):
        if table in columns:
            columns[table].append((data_type, charset))
    return {t: dump_charset(cols) for t, cols in columns.items()}


def charset_options(charset: str) -> tuple[str, ...]:
    return (f"--default-character-set={charset}",) + (() if charset == RAW else ("--hex-blob",))


@dataclasses.dataclass(frozen=True)
class Client:
    path: str
    mariadb: bool  # MariaDB's client (else MySQL's): TLS and a few options are spelled differently

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@functools.lru_cache(maxsize=None)
def _client(names: tuple[str, ...]) -> Client:
    path = find_binary(names)
    if not path:
        raise ServerUnavailable(f"{' or '.join(names)} not found: install the MariaDB or MySQL client "
                                "(apt-get install mariadb-client)")
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ServerUnavailable(f"{path} does not run: {exc}") from None
    return Client(path, "mariadb" in version.lower())


def dump_client() -> Client:
    return _client(DUMP_CLIENTS)


def sql_client() -> Client:
    return _client(SQL_CLIENTS)


def _option_value(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _option_file_text(settings: ConnectionSettings, client: Client) -> str:
    lines = ["[client]", f"user={_option_value(settings.user)}"]
    if settings.password:
        lines.append(f"password={_option_value(settings.password)}")
    if settings.unix_socket:
        lines += ["host=localhost", f"socket={_option_value(settings.unix_socket)}"]
    else:
        lines += [f"host={_option_value(settings.host)}", f"port={settings.port}", "protocol=TCP"]
    for name in ("ssl_ca", "ssl_cert", "ssl_key"):
        value = getattr(settings, name)
        if value:
            lines.append(f"{name.replace('_', '-')}={_option_value(value)}")
    tls = settings.ssl_required or settings.ssl_ca or settings.ssl_cert
    if client.mariadb:
        if tls:
            lines.append("ssl")
        if settings.ssl_verify_identity:
            lines.append("ssl-verify-server-cert")
    elif tls:
        mode = "VERIFY_IDENTITY" if settings.ssl_verify_identity else "VERIFY_CA" if settings.ssl_ca else "REQUIRED"
        lines.append(f"ssl-mode={mode}")
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def option_file(settings: ConnectionSettings, client: Client) -> Iterator[str]:
    """A 0600 option file holding the connection, removed on the way out. Given as
    ``--defaults-file``, it is the only one the client reads: a ``~/.my.cnf`` cannot send
    the dump to another server or change its TLS."""
    fd, path = tempfile.mkstemp(prefix="harbor-migrate-", suffix=".cnf")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(_option_file_text(settings, client))
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


@functools.lru_cache(maxsize=None)
def _stdbuf() -> tuple[str, ...]:
    """``stdbuf -o 1M`` where coreutils has it: the dump client writes its stdout through a
    4 KiB stdio buffer, 25,000 writes (and as many wake-ups of our reader) per 100 MB;
    a 1 MiB buffer makes that ~100, and the client's system time drops with them
    (docs/benchmarks.md). Without it the client runs as it is."""
    path = find_binary(["stdbuf"])
    return (path, f"-o{PIPE_BYTES}") if path else ()


def dump_command(client: Client, defaults: str, database: str, tables: list[str] | None = None,
                 extra: tuple[str, ...] = (), charset: str = TEXT) -> list[str]:
    args = [*_stdbuf(), client.path, f"--defaults-file={defaults}", *DUMP_OPTIONS, *charset_options(charset), *extra]
    if not client.mariadb:
        args += ["--set-gtid-purged=OFF", "--column-statistics=0"]
    return args + ["--", database, *(tables or [])]


def sql_command(client: Client, defaults: str, database: str) -> list[str]:
    return [client.path, f"--defaults-file={defaults}", "--default-character-set=utf8mb4", "--batch",
            "--", database]


def widen_pipe(fileobj) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(fileobj.fileno(), _F_SETPIPE_SZ, PIPE_BYTES)


_ERRNO = re.compile(rb"(?:ERROR |[Ee]rror:? |Got error: )(\d{4})")


def client_error(client: Client, stderr: bytes, settings: ConnectionSettings, doing: str,
                 fallback: type[MigratorError] = MigratorError) -> MigratorError:
    """The client's failure as our one-line error: connection, login and privilege errors as
    the driver's would be, anything else as ``fallback`` naming what failed."""
    text = stderr.decode("utf-8", "replace").strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "Using a password" not in ln]
    first = lines[-1] if lines else f"{client.name} failed without a message"
    m = _ERRNO.search(stderr)
    if m:
        code = int(m.group(1))
        err = translate_error(pymysql.err.OperationalError(code, first), settings)
        if code in (1045, 1049, 1044, 1142, 1143, 1227, 1370) or code >= 2000:
            return err
    return fallback(f"{doing} failed: {first}")


@contextlib.contextmanager
def _running(client: Client, settings: ConnectionSettings, command: Callable[[str], list[str]], *, doing: str,
             fallback: type[MigratorError], **pipes: Any) -> Iterator[subprocess.Popen]:
    """``client`` run with ``command(option file)``: yields the process; killed if we fail, and
    its own failure raised as our one-line error once it has ended."""
    with option_file(settings, client) as cnf, stderr_file() as errors:
        proc = subprocess.Popen(command(cnf), stderr=errors, **pipes)
        try:
            yield proc
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if proc.wait() != 0:
            raise client_error(client, read_stderr(errors), settings, f"{client.name} ({doing})", fallback)


@contextlib.contextmanager
def dump_stream(settings: ConnectionSettings, tables: list[str] | None = None, extra: tuple[str, ...] = (), *,
                doing: str, fallback: type[MigratorError] = MigratorError,
                charset: str = TEXT) -> Iterator[Iterator[bytes]]:
    """The dump client's output for ``settings.database`` (or some of its tables), a block at a
    time; on the way out, its failure as our error (or, on ours, the client killed)."""
    client = dump_client()
    with _running(client, settings, lambda cnf: dump_command(client, cnf, settings.database, tables, extra, charset),
                  doing=doing, fallback=fallback, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE) as proc:
        widen_pipe(proc.stdout)
        yield iter(lambda: proc.stdout.read(READ_BYTES), b"")
        proc.stdout.close()


ROWS_ONLY = ("--no-create-info", "--skip-triggers")


@contextlib.contextmanager
def sql_session(settings: ConnectionSettings, *, doing: str,
                fallback: type[MigratorError] = MigratorError) -> Iterator[Callable[[bytes], Any]]:
    """A SQL client session on ``settings.database``; yields the function that feeds it SQL
    text. On the way out its input is closed and its failure raised as our error."""
    client = sql_client()
    with _running(client, settings, lambda cnf: sql_command(client, cnf, settings.database),
                  doing=doing, fallback=fallback, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL) as proc:
        widen_pipe(proc.stdin)
        try:
            yield proc.stdin.write
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the client stopped reading: its exit status and stderr say why


def stderr_file():
    """Where a client writes its errors: a file, so a chatty client can never block on a full pipe."""
    return tempfile.TemporaryFile()


def read_stderr(fh) -> bytes:
    fh.seek(0)
    return fh.read()[-4096:]
