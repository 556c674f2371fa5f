"""The adminserver side of verification: will Harbor 1.5.2 use the database we upgraded?

The 1.5.2 adminserver serves every setting, decrypted, at ``/api/configurations``
behind ``Authorization: Harbor-Secret <secret>`` (harbor-facts §5). Its
``mysql_*`` keys are refreshed from the environment at every start, so they
tell which database Harbor really opens; a mismatch means the upgrade went to
one server and Harbor reads another.

After the move, a Harbor 1.6.0 adminserver is checked the same way (``release=RELEASE_160``):
its environment says ``DATABASE_TYPE=postgresql`` and ``POSTGRESQL_HOST/PORT/USERNAME/
DATABASE`` (harbor-reference/cfg/adminserver-env-1.6.0), served as ``postgresql_*`` keys,
which must name the PostgreSQL target we moved into. Stale ``mysql_*`` rows the move
carried over in ``properties`` are not what 1.6.0 connects with, and are not read.

The answer holds plaintext passwords. They are dropped while the JSON is being
parsed, before anything else sees the object, and never reach a Check.
"""
from __future__ import annotations

import json
import re
import dataclasses
from typing import Any, Mapping

from ..verdicts import Check, Verdict
from ..errors import EndpointAuth, EndpointProtocol, ExitCode, MigratorError
from ..settings import ConnectionSettings
from .http import HttpClient, failed, redact_url

# The six keys the adminserver encrypts at rest and serves decrypted (§5.3).
SECRET_KEYS = frozenset({"mysql_password", "postgresql_password", "email_password", "ldap_search_password", "admin_initial_password",
                         "clair_db_password", "uaa_client_secret"})
# Anything else that looks like a credential is dropped too (newer versions add keys).
_SECRET_LIKE = re.compile(r"pass(word)?|secret|_pwd$|token$|private_key", re.IGNORECASE)

AUTH_MODES = ("db_auth", "ldap_auth", "uaa_auth")
INT_KEYS = ("email_port", "ldap_scope", "ldap_timeout", "token_expiration", "mysql_port", "max_job_workers",
            "cfg_expiration")
BOOL_KEYS = ("with_clair", "with_notary", "self_registration", "email_ssl", "email_insecure", "ldap_verify_cert",
             "uaa_verify_cert", "read_only")
REQUIRED_KEYS = ("auth_mode", "database_type", "mysql_host", "mysql_port", "mysql_database", "mysql_username")


@dataclasses.dataclass(frozen=True)
class Release:
    """What one Harbor release's adminserver says about its database: the type and the keys' prefix."""

    name: str
    database_type: str
    prefix: str                 # "mysql" → mysql_host, mysql_port, mysql_database, mysql_username
    env: str                    # the variables to fix, in common/config/adminserver/env

    def key(self, what: str) -> str:
        return f"{self.prefix}_{what}"

    @property
    def required(self) -> tuple[str, ...]:
        return ("auth_mode", "database_type") + tuple(self.key(k) for k in ("host", "port", "database", "username"))

    @property
    def int_keys(self) -> tuple[str, ...]:
        return tuple(self.key("port") if k == "mysql_port" else k for k in INT_KEYS)


RELEASE_152 = Release("1.5.2", "mysql", "mysql", "MYSQL_*")
RELEASE_160 = Release("1.6.0", "postgresql", "postgresql", "POSTGRESQL_*")


def is_secret_key(key: str) -> bool:
    return key in SECRET_KEYS or bool(_SECRET_LIKE.search(key))


def _drop_secrets(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return {k: v for k, v in pairs if not is_secret_key(k)}


def parse_configurations(text: str) -> dict[str, Any]:
    """Decode the ``/api/configurations`` body, dropping secret keys at every level as it is parsed."""
    return json.loads(text, object_pairs_hook=_drop_secrets)


def fetch_configurations(http: HttpClient, secret: str) -> dict[str, Any]:
    """GET ``/api/configurations`` with the Harbor-Secret header; secrets are gone from the result."""
    resp = http.get("/api/configurations", headers={"Authorization": f"Harbor-Secret {secret}"},
                    use_default_auth=False)
    try:
        if resp.status_code in (401, 403):
            raise EndpointAuth("the adminserver refused the secret: use the current UI_SECRET or JOBSERVICE_SECRET "
                               "from common/config/adminserver/env (prepare makes new ones on every run)")
        if resp.status_code == 404:
            raise EndpointProtocol(f"{redact_url(http.base_url)} has no /api/configurations: point at the adminserver "
                                   "(http://adminserver:8080 on Harbor's compose network), not the UI")
        if resp.status_code != 200:
            raise EndpointProtocol(f"the adminserver answered HTTP {resp.status_code} to /api/configurations: "
                                   "check its logs")
        try:
            config = parse_configurations(resp.text)
        except ValueError:
            raise EndpointProtocol("the adminserver's /api/configurations is not JSON: check that the URL points at "
                                   "the adminserver") from None
    finally:
        # The raw body holds the decrypted passwords: do not keep it around.
        resp._content = b""
        resp.close()
    if not isinstance(config, dict):
        raise EndpointProtocol("the adminserver's /api/configurations is not a JSON object: check the URL")
    return config


def _ping(http: HttpClient) -> Check:
    resp = http.get("/api/ping", use_default_auth=False)
    if resp.status_code == 404:
        raise EndpointProtocol(f"{redact_url(http.base_url)} has no /api/ping: not a Harbor adminserver; point at "
                               "http://adminserver:8080 on Harbor's network")
    if resp.status_code != 200:
        raise EndpointProtocol(f"the adminserver's /api/ping answered HTTP {resp.status_code}: check its logs")
    try:
        body = resp.json()
    except ValueError:
        body = None
    if body != "Pong":
        raise EndpointProtocol(f"{redact_url(http.base_url)}/api/ping did not answer \"Pong\": not a Harbor "
                               "adminserver; check the URL")
    return Check("adminserver.ping", Verdict.OK, f"adminserver at {redact_url(http.base_url)} answers")


def _socket(conn: Any) -> str | None:
    """The socket the database was verified through: MySQL's option, or a PostgreSQL host that is a directory."""
    socket = getattr(conn, "unix_socket", None)
    if socket:
        return socket
    host = str(getattr(conn, "host", "") or "")
    return host if host.startswith("/") else None


def check_database(config: Mapping[str, Any], conn: ConnectionSettings, release: Release = RELEASE_152) -> Check:
    """Do the adminserver's ``mysql_*`` (1.6.0: ``postgresql_*``) keys name the database we verified?

    ``conn``: the MySQL ConnectionSettings, or the PostgreSQL target's PgSettings for 1.6.0."""
    diffs, warns = [], []
    k_host, k_port, k_database, k_user = (release.key(k) for k in ("host", "port", "database", "username"))
    dbtype = config.get("database_type")
    if dbtype != release.database_type:
        diffs.append(f"database_type: adminserver {dbtype!r}, expected {release.database_type!r}")
    for key, ours in ((k_database, conn.database), (k_user, conn.user)):
        theirs = config.get(key)
        if theirs is None:
            diffs.append(f"{key}: missing from the adminserver's answer")
        elif str(theirs) != str(ours):
            diffs.append(f"{key}: adminserver {theirs!r}, verified {ours!r}")
    host, port = config.get(k_host), config.get(k_port)
    socket = _socket(conn)
    if socket:
        warns.append(f"{k_host}/{k_port}: adminserver {host}:{port}, verified through the socket "
                     f"{socket}: make sure both are the same server")
    else:
        try:
            port_ok = int(port) == int(conn.port)
        except (TypeError, ValueError):
            port_ok = False
        if not port_ok:
            diffs.append(f"{k_port}: adminserver {port!r}, verified {conn.port}")
        if host is None:
            diffs.append(f"{k_host}: missing from the adminserver's answer")
        elif str(host).strip().lower() != str(conn.host).strip().lower():
            warns.append(f"{k_host}: adminserver {host!r}, verified {conn.host!r} (a name and an address can "
                         "be the same server: make sure they are)")
    if diffs:
        return Check("adminserver.database", Verdict.FAIL,
                     "the adminserver points at a different database than the one verified: fix "
                     f"{release.env} in common/config/adminserver/env (db_* in harbor.cfg) or verify the "
                     "database Harbor uses",
                     details=diffs + warns, exit_code=int(ExitCode.VERIFY_FAILED))
    if warns:
        return Check("adminserver.database", Verdict.WARN,
                     "the adminserver names the database differently; port, database and user match",
                     details=warns)
    return Check("adminserver.database", Verdict.OK,
                 f"the adminserver uses {config.get(k_user)}@{config.get(k_host)}:"
                 f"{config.get(k_port)}/{config.get(k_database)}")


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def check_settings(config: Mapping[str, Any], release: Release = RELEASE_152) -> Check:
    """The settings whose values 1.5.2 (and 1.6.0) constrains (§5.4, §5.5), with the fix for each."""
    problems, notes = [], []
    rel = release.name
    for key in release.required:
        if key not in config:
            problems.append(f"{key}: missing (the adminserver fills known keys: is this a {rel} adminserver?)")
    mode = config.get("auth_mode")
    if mode is not None and mode not in AUTH_MODES:
        problems.append(f"auth_mode: {mode!r}, expected one of {', '.join(AUTH_MODES)}")
    for key in ("ldap_scope", "ldap_group_search_scope"):
        if key not in config:
            continue
        # ldap_group_search_scope is written as a number but read back as a string (§5.2).
        value = _as_int(config[key])
        if value is None or not 0 <= value <= 2:
            problems.append(f"{key}: {config[key]!r}, expected 0 (base), 1 (one level) or 2 (subtree)")
    restriction = config.get("project_creation_restriction")
    if restriction is not None and restriction not in ("everyone", "adminonly"):
        problems.append(f"project_creation_restriction: {restriction!r}, expected 'everyone' or 'adminonly'")
    for key in release.int_keys:
        if key != "ldap_scope" and key in config and _as_int(config[key]) is None:
            problems.append(f"{key}: {config[key]!r} is not a number")
    for key in ("token_expiration", "max_job_workers", "email_port", release.key("port")):
        value = _as_int(config.get(key))
        if key in config and value is not None and value <= 0:
            problems.append(f"{key}: {value} must be positive")
    for key in BOOL_KEYS:
        if key in config and not isinstance(config[key], bool):
            problems.append(f"{key}: {config[key]!r} is not a boolean")
    if mode == "ldap_auth" and not config.get("ldap_url"):
        problems.append("ldap_url: empty while auth_mode is ldap_auth")
    if _as_int(config.get("max_job_workers")) in (3,):
        notes.append(f"max_job_workers is 3, the 0.5.0 default; {rel}'s jobservice defaults to 50")
    if problems:
        return Check("adminserver.settings", Verdict.FAIL,
                     f"{len(problems)} adminserver settings are invalid for Harbor {rel}: fix them in harbor.cfg, "
                     "run prepare, or PUT them through the adminserver",
                     details=problems + notes, exit_code=int(ExitCode.VERIFY_FAILED))
    if notes:
        return Check("adminserver.settings", Verdict.WARN, "adminserver settings are valid, with remarks",
                     details=notes)
    return Check("adminserver.settings", Verdict.OK,
                 f"auth_mode {mode}, ldap_scope {config.get('ldap_scope')}: settings valid for {rel}")


def _same(expected: Any, actual: Any) -> bool:
    """Equal as the adminserver means it: booleans also match on/off/1/0/yes/no, numbers match their digits."""
    if isinstance(actual, bool):
        truthy = ("true", "on", "1", "yes") if actual else ("false", "off", "0", "no")
        return str(expected).strip().lower() in truthy
    return str(expected) == str(actual)


def check_expected(config: Mapping[str, Any], expected: Mapping[str, Any]) -> Check:
    """Per-key comparison against values the caller expects (e.g. from the converted harbor.cfg)."""
    diffs, skipped = [], []
    for key in sorted(expected):
        if is_secret_key(key):
            skipped.append(key)
            continue
        if key not in config:
            diffs.append(f"{key}: missing, expected {expected[key]!r}")
        elif not _same(expected[key], config[key]):
            diffs.append(f"{key}: adminserver {config[key]!r}, expected {expected[key]!r}")
    compared = len(expected) - len(skipped)
    note = [f"not compared (secret): {', '.join(skipped)}"] if skipped else []
    if diffs:
        return Check("adminserver.expected", Verdict.FAIL,
                     f"{len(diffs)} of {compared} adminserver settings differ from the expected values: fix "
                     "harbor.cfg and run prepare, or expect what the adminserver serves",
                     details=diffs + note, exit_code=int(ExitCode.VERIFY_FAILED))
    return Check("adminserver.expected", Verdict.OK, f"{compared} adminserver settings have the expected values",
                 details=note)


def verify_adminserver(url: str, secret: str, conn_settings: ConnectionSettings, *,
                       expected: Mapping[str, Any] | None = None, timeout: float = 10.0,
                       release: Release = RELEASE_152) -> list[Check]:
    """Ping the adminserver, read its configuration (secrets dropped) and check it against the database.

    ``secret`` is the UI or jobservice secret from the caller (env or file,
    never argv). Failures come back as Checks with their exit code.
    """
    secret = (secret or "").strip()
    try:
        http = HttpClient(url, what="the adminserver", timeout=timeout)
    except MigratorError as exc:
        return [failed("adminserver.ping", exc)]
    with http:
        try:
            checks = [_ping(http)]
        except MigratorError as exc:
            return [failed("adminserver.ping", exc)]
        if not secret:
            return checks + [Check("adminserver.configurations", Verdict.FAIL,
                                   "no adminserver secret given: pass UI_SECRET from common/config/adminserver/env "
                                   "(through the environment or a file)", exit_code=int(ExitCode.ENDPOINT_AUTH))]
        try:
            config = fetch_configurations(http, secret)
        except MigratorError as exc:
            return checks + [failed("adminserver.configurations", exc)]
    checks.append(Check("adminserver.configurations", Verdict.OK,
                        f"{len(config)} settings read (secret values dropped unread)",
                        data={"keys": len(config)}))
    checks.append(check_database(config, conn_settings, release))
    checks.append(check_settings(config, release))
    if expected:
        checks.append(check_expected(config, expected))
    return checks
