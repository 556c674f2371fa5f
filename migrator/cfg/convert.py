"""Convert a Harbor 0.5.0 harbor.cfg into a 1.5.2 one (harbor-facts §8.3).

The output has 1.5.2's keys in 1.5.2's order (``template.SLOTS``). Every kept
key carries its 0.5.0 value and the user's comments; ``ldap_scope`` moves to
0-based numbering; removed keys are reported with what replaces them; new keys
get their 1.5.2 defaults, except the database keys (from the connection the
tool uses) and ``secretkey_path`` (from the directory given). Values that
would not fit the adminserver's ``properties.v varchar(128)`` are refused.
Password values never reach a message or a report: they show as ``***``.
"""
from __future__ import annotations

import dataclasses
import os
import re
from typing import TYPE_CHECKING

from ..errors import ConfigInvalid, MigratorError, UsageError
from ..settings import ConnectionSettings
from . import convert_160 as C6
from . import template as T
from . import template_160 as T6
from .parse import CfgDocument, Entry, format_line, is_blank, is_comment, parse, semicolon_comment
from .report import Change, ConversionRefused, ConvertReport, is_secret

if TYPE_CHECKING:
    from ..postgres.settings import PgSettings

__all__ = ["Change", "ConversionRefused", "ConvertReport", "check_source_version", "convert", "is_secret",
           "render_converted", "shift_ldap_scope"]

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
_CHOICES = {
    "ui_url_protocol": ("http", "https"),
    "auth_mode": ("db_auth", "ldap_auth"),
    "project_creation_restriction": ("everyone", "adminonly"),
}
_INTEGERS = {"email_server_port": (1, 65535), "token_expiration": (1, None), "max_job_workers": (1, None),
             "db_port": (1, 65535)}


@dataclasses.dataclass(frozen=True)
class Layout:
    """A target's file: its release, ``_version``, slots and the keys prepare needs."""

    release: str
    version: str
    slots: tuple[T.Slot, ...]
    by_key: dict[str, T.Slot]
    required: frozenset[str]


LAYOUTS = {
    "1.5.2": Layout("1.5.2", T.TARGET_VERSION, T.SLOTS, T.BY_KEY, T.REQUIRED_152),
    "1.6.0": Layout("1.6.0", T6.TARGET_VERSION, T6.SLOTS, T6.BY_KEY, T6.REQUIRED_160),
}


# --------------------------------------------------------------------------- detection

def check_source_version(doc: CfgDocument, source: str = "harbor.cfg", *, accept_15: bool = False) -> str:
    """Accept a 0.5.0 file (and, with ``accept_15``, a 1.5.x one); say what the file is otherwise.

    Returns the source release: "0.5.0" or "1.5.2"."""
    if accept_15 and "_version" in doc and (doc.get("_version") or "").startswith("1.5"):
        missing = sorted(T.REQUIRED_152 - set(doc.keys()))
        if missing:
            raise ConfigInvalid(f"{source} is an incomplete 1.5.x harbor.cfg: {', '.join(missing[:8])}"
                                f"{' …' if len(missing) > 8 else ''} missing; give the file your 1.5.2 "
                                "installation was prepared with")
        return "1.5.2"
    if "_version" in doc:
        version = doc.get("_version") or "?"
        hint = ("it is already in 1.5.x format and needs no conversion" if version.startswith("1.5")
                else "harbor-migrate converts 0.5.0 and 1.5.x files to 1.6.0" if accept_15
                else "harbor-migrate converts only 0.5.0 files")
        raise ConfigInvalid(f"{source} is a Harbor {version} harbor.cfg (_version = {version}), not 0.5.0: {hint}")
    newer = sorted(k for k in doc.keys() if k in T.NEWER_KEYS)
    if newer:
        raise ConfigInvalid(
            f"{source} is not a 0.5.0 harbor.cfg: it has {', '.join(newer[:5])}"
            f"{' …' if len(newer) > 5 else ''}, which Harbor 1.1 or later introduced. harbor-migrate converts "
            "0.5.0 files only; give the harbor.cfg your 0.5.0 installation was prepared with")
    if not any(k in T.KEYS_050 for k in doc.keys()):
        raise ConfigInvalid(f"{source} is not a Harbor harbor.cfg: none of the 0.5.0 keys "
                            "(hostname, auth_mode, db_password, …) is set")
    missing = sorted(T.REQUIRED_050 - set(doc.keys()))
    if missing:
        raise ConfigInvalid(
            f"{source} is an incomplete 0.5.0 harbor.cfg: {', '.join(missing)} missing. Harbor 0.5.0's prepare "
            "needs them, so this is not the file your installation ran with; restore them from that file")
    return "0.5.0"


# --------------------------------------------------------------------------- conversion

def shift_ldap_scope(value: str) -> tuple[str, str]:
    """0.5.0: 1 base, 2 one level, anything else subtree → 1.5.2: 0, 1, 2."""
    mapping = {"1": ("0", "base"), "2": ("1", "one level")}
    new, name = mapping.get(value.strip(), ("2", "subtree"))
    note = f"0.5.0 {value or '(empty)'} = {name} is {new} in 1.5.2's 0-based numbering"
    if value.strip() not in ("1", "2", "3"):
        note += "; 0.5.0 read any value but 1 and 2 as subtree"
    return new, note


def convert(old_text: str, *, db: ConnectionSettings | None, include_db_password: bool = False,
            secretkey_dir: str | None = None, source: str = "harbor.cfg", to: str = "1.5.2",
            target: "PgSettings | None" = None) -> tuple[str, ConvertReport]:
    """Convert 0.5.0 harbor.cfg text (or, ``to="1.6.0"``, 1.5.x text); return the new text and the report.

    ``to="1.6.0"`` takes the database keys from ``target`` (the PostgreSQL database), never from ``db``.
    Raises ConfigInvalid for a file that is not 0.5.0 (1.5.x) or whose values would
    not survive the target (the error then carries ``.report`` with the refused keys).
    """
    layout = LAYOUTS[to]
    doc = parse(old_text, source=source)
    source_release = check_source_version(doc, source, accept_15=to != "1.5.2")
    if to == "1.5.2" and include_db_password and (db is None or db.password is None):
        raise UsageError("--include-db-password needs a connection with a password "
                         "(HARBOR_MIGRATE_PASSWORD, --password-file or the DSN)")
    report = ConvertReport(source_version=source_release, target_version=layout.version,
                           target_release=layout.release)
    values: dict[str, str] = {}
    for slot in layout.slots:
        if slot.key:
            if to == "1.5.2":
                _convert_key(slot, doc, values, report, db, include_db_password, secretkey_dir)
            else:
                _convert_key_160(slot, doc, values, report, target, secretkey_dir, source_release)
    removed = T.REMOVED_050 if source_release == "0.5.0" else T6.REMOVED_152
    for key in doc.keys():
        if key in removed:
            old = doc.get(key) or ""
            _removed(key, C6.mask_redis_url(old) if key == "redis_url" else old, report, removed)
    known = T.KEYS_050 if source_release == "0.5.0" else frozenset(T.KEYS_152) | {"uaa_ca_root"}
    unknown = [k for k in doc.keys() if k not in known and k not in layout.by_key]
    for key in unknown:
        values[key] = doc.get(key) or ""
        report.add(key, "kept", values[key], values[key],
                   f"not a Harbor {source_release} key (a typo?): carried over at the end; Harbor "
                   f"{layout.release} ignores it")
    for key, value in values.items():
        if semicolon_comment(value):
            report.warnings.append(
                f"{key}: the value contains ' ;', where Python 2's ConfigParser (prepare under python2) "
                "cuts it off as a comment; check that Harbor reads what you mean")
    _refuse_unfit(values, report, layout, source_release)
    if report.refused:
        keys = ", ".join(f"{c.key} ({c.note})" for c in report.refused)
        raise ConversionRefused(f"{source}: cannot convert, {len(report.refused)} value(s) would not work in "
                                f"Harbor {layout.release}: {keys}. Change them in the {source_release} file and "
                                "convert again", report)
    report.next_steps.insert(0, "check the secret key before upgrading: harbor-migrate cfg check-key "
                                f"{(values['secretkey_path'].rstrip('/') or '')}/secretkey")
    text = render_converted(doc, values, unknown, layout, source_release)
    _validate_output(text, values, layout)
    return text, report


def _convert_key(slot: T.Slot, doc: CfgDocument, values: dict[str, str], report: ConvertReport,
                 db: ConnectionSettings | None, include_db_password: bool, secretkey_dir: str | None) -> None:
    key = slot.key
    assert key
    old = doc.get(key)
    if key == "_version":
        values[key] = T.TARGET_VERSION
        report.add(key, "added", None, T.TARGET_VERSION, "format marker of 1.5.x files")
    elif key == "ldap_scope":
        new, note = shift_ldap_scope(old or "")
        values[key] = new
        report.add(key, "changed" if new != old else "kept", old, new, note)
    elif key == "max_job_workers":
        if old == "3":
            values[key] = "50"
            report.add(key, "changed", old, "50", "0.5.0's default of 3 in-process workers; 1.5.2's "
                       "redis-based jobservice defaults to 50")
        else:
            values[key] = old or slot.default
            report.add(key, "kept", old, values[key], "your own choice is kept (1.5.2's default is 50)")
    elif key in ("db_host", "db_port", "db_user"):
        _db_key(slot, db, values, report)
    elif key == "db_password":
        _db_password(old or "", db, include_db_password, values, report)
    elif key == "secretkey_path":
        _secretkey_path(secretkey_dir, values, report)
    else:
        _keep_or_default(slot, old, values, report, "1.5.2")


def _convert_key_160(slot: T.Slot, doc: CfgDocument, values: dict[str, str], report: ConvertReport,
                     target: "PgSettings | None", secretkey_dir: str | None, source_release: str) -> None:
    key = slot.key
    assert key
    old = doc.get(key)
    if key == "_version":
        values[key] = T6.TARGET_VERSION
        report.add(key, "added" if old is None else "changed", old, T6.TARGET_VERSION, "format marker of 1.6.x files")
    elif key == "ldap_scope" and source_release == "0.5.0":
        new, note = shift_ldap_scope(old or "")
        values[key] = new
        report.add(key, "changed" if new != old else "kept", old, new, note.replace("1.5.2", "1.6.0"))
    elif key == "max_job_workers" and old == "3" and source_release == "0.5.0":
        values[key] = slot.default
        report.add(key, "changed", old, slot.default, "0.5.0's default of 3 in-process workers; 1.6.0's "
                   f"jobservice defaults to {slot.default}")
    elif key in ("db_host", "db_port", "db_user"):
        C6.db_key(slot, old, target, values, report)
    elif key == "db_password":
        C6.db_password(old or "", target, values, report)
    elif key.startswith("redis_"):
        C6.redis_key(slot, old, doc.get("redis_url"), values, report)
    elif key == "secretkey_path" and (source_release == "0.5.0" or secretkey_dir):
        _secretkey_path(secretkey_dir, values, report)
    else:
        _keep_or_default(slot, old, values, report, "1.6.0")


def _keep_or_default(slot: T.Slot, old: str | None, values: dict[str, str], report: ConvertReport,
                     release: str) -> None:
    """A key no rule converts: the old value kept, else ``release``'s default added (an optional one
    not set stays unset)."""
    key = slot.key
    assert key
    if old is not None:
        values[key] = old
        report.add(key, "kept", old, old)
    elif not slot.commented:
        values[key] = slot.default
        report.add(key, "added", None, slot.default, f"new in {slot.since}, {release} default")


def _db_key(slot: T.Slot, db: ConnectionSettings | None, values: dict[str, str], report: ConvertReport) -> None:
    key = slot.key
    assert key
    if db is None:
        values[key] = slot.default
        report.add(key, "added", None, slot.default, "no connection given: default of Harbor's bundled database")
        if key == "db_host":
            report.warnings.append(
                "no database connection given: db_host/db_port/db_user are the defaults for Harbor's bundled "
                "MySQL (mysql:3306, root). For an external server, pass the connection (--dsn or --host/--port/"
                "--user) or edit them")
        return
    if db.unix_socket and key in ("db_host", "db_port"):
        values[key] = slot.default
        report.add(key, "added", None, slot.default, "the connection uses a unix socket: set it by hand")
        if key == "db_host":
            report.warnings.append(
                "the connection uses a unix socket, which Harbor's containers cannot use: set db_host and "
                "db_port to the address the containers reach the server at")
        return
    value = {"db_host": db.host, "db_port": str(db.port), "db_user": db.user}[key]
    values[key] = value
    report.add(key, "added", None, value, f"from the connection {db.describe()}")
    if key == "db_host" and value.lower() in _LOCAL_HOSTS:
        report.warnings.append(
            f"db_host = {value}: inside Harbor's containers that is the container itself; set db_host to an "
            "address the containers can reach the server at")
    if key == "db_host" and db.database != "registry":
        report.warnings.append(
            f"the database is named {db.database!r}, but Harbor 1.5.2's adminserver env template sets "
            "MYSQL_DATABASE=registry: change it in common/templates/adminserver/env before running prepare")


def _db_password(old: str, db: ConnectionSettings | None, include: bool, values: dict[str, str],
                 report: ConvertReport) -> None:
    if include and db is not None and db.password is not None:
        values["db_password"] = db.password
        same = db.password == old
        report.add("db_password", "kept" if same else "changed", old, db.password,
                   f"from the connection {db.describe()}" + (" (same as in the 0.5.0 file)" if same else ""))
        return
    values["db_password"] = old
    if db is None:
        note = ("left as in the 0.5.0 file (there: root password of the bundled MySQL); in 1.5.2 it is the "
                "password of db_user on db_host")
    else:
        matches = db.password is not None and db.password == old
        note = (f"left as in the 0.5.0 file; in 1.5.2 it must be the password of {db.user} on "
                f"{db.describe().rsplit('/', 1)[0].split('@', 1)[1]}"
                + (" — it matches the connection's password" if matches else
                   " — pass --include-db-password to write the connection's password, or edit it"))
    report.add("db_password", "kept", old, old, note)


def _secretkey_path(secretkey_dir: str | None, values: dict[str, str], report: ConvertReport) -> None:
    if secretkey_dir:
        if os.path.isfile(secretkey_dir):
            raise UsageError(f"--secretkey-dir {secretkey_dir} is a file: give the directory that holds "
                             "the secretkey file")
        value = secretkey_dir.rstrip("/") or "/"
        note = "the directory of your 0.5.0 secretkey (reuse it, or stored passwords become unreadable)"
    else:
        value = "/data"
        note = ("default: 0.5.0 kept the key in <data volume>/secretkey (default /data/secretkey); "
                "pass --secretkey-dir if yours was elsewhere")
    values["secretkey_path"] = value
    report.add("secretkey_path", "added", None, value, note)


def _removed(key: str, old: str, report: ConvertReport, removed: dict[str, str] = T.REMOVED_050) -> None:
    note = removed[key]
    if key == "verify_remote_cert":
        if old.lower() == "off":
            note += "; yours is off: after `harbor-migrate upgrade`, run `harbor-migrate cfg apply-insecure`"
            report.next_steps.append("after `harbor-migrate upgrade`: harbor-migrate cfg apply-insecure OLD_CFG "
                                     "(verify_remote_cert was off: sets insecure = 1 on every replication target)")
        elif old.lower() == "on":
            note += "; yours is on: targets keep insecure = 0 (certificates verified), nothing to do"
        else:
            note += "; expected on or off"
            report.warnings.append(f"verify_remote_cert = {old!r} is neither on nor off: decide per "
                                   "replication target whether to verify its certificate")
    report.add(key, "removed", old, None, note)


def _refuse_unfit(values: dict[str, str], report: ConvertReport, layout: Layout = LAYOUTS["1.5.2"],
                  source_release: str = "0.5.0") -> None:
    """Mark values the target would reject or truncate; the report keeps the reason, never the value."""
    for key, value in values.items():
        slot = layout.by_key.get(key)
        reason = None
        choices = _CHOICES.get(key, ())
        if key == "auth_mode" and source_release != "0.5.0":
            choices += ("uaa_auth",)   # 1.3+ knows it; 0.5.0 did not
        if key in _CHOICES and value not in choices:
            reason = f"must be one of {', '.join(choices)}"
        elif key in _INTEGERS:
            low, high = _INTEGERS[key]
            if not value.isdigit() or int(value) < low or (high is not None and int(value) > high):
                reason = f"must be a whole number from {low}" + (f" to {high}" if high else " up")
        if reason is None and slot is not None and slot.encrypted:
            size = len(value.encode("utf-8"))
            if size > T.MAX_ENCRYPTED_PLAINTEXT:
                reason = (f"{size} bytes: encrypted, at most {T.MAX_ENCRYPTED_PLAINTEXT} bytes fit the "
                          f"{T.PROPERTY_MAX_CHARS}-character properties.v column")
        elif reason is None and key == "hostname":
            endpoint = len(values.get("ui_url_protocol", "http")) + 3 + len(value)
            if endpoint > T.PROPERTY_MAX_CHARS:
                reason = (f"ext_endpoint (protocol://hostname) would be {endpoint} characters, more than the "
                          f"{T.PROPERTY_MAX_CHARS} of properties.v")
        elif reason is None and slot is not None and slot.stored_as and len(value) > T.PROPERTY_MAX_CHARS:
            reason = f"{len(value)} characters, more than the {T.PROPERTY_MAX_CHARS} of properties.v"
        if reason:
            existing = report.by_key(key)
            if existing:
                existing.action, existing.note = "refused", reason
            else:
                report.add(key, "refused", None, value, reason)


# --------------------------------------------------------------------------- rendering

_OLD_SCOPE = {("1", "BASE"): "0", ("2", "ONELEVEL"): "1", ("3", "SUBTREE"): "2"}


def _renumber_scope_comment(line: str) -> str:
    def sub(m: re.Match) -> str:
        new = _OLD_SCOPE.get((m.group(1), m.group(2).upper()))
        return f"{new}-{m.group(0).split('-', 1)[1]}" if new else m.group(0)
    return re.sub(r"\b([123])-LDAP_SCOPE_(BASE|ONELEVEL|SUBTREE)\b", sub, line, flags=re.I)


def _commented_in(lines: list[str], key: str) -> bool:
    pattern = re.compile(rf"^[#;]+\s*{re.escape(key)}\s*[=:]", re.I)
    return any(pattern.match(ln) for ln in lines)


def render_converted(doc: CfgDocument, values: dict[str, str], unknown: list[str],
                     layout: Layout = LAYOUTS["1.5.2"], source_release: str = "0.5.0") -> str:
    """The target's file: template order, the user's comments above the keys they kept."""
    surviving = [e for e in doc.entries if e.key in values]
    kept_comments = doc.header + doc.trailer + [ln for e in surviving for ln in e.leading]
    out: list[str] = list(doc.header) or ["## Configuration file of Harbor"]
    out += ["", f"#Converted from a Harbor {source_release} harbor.cfg by harbor-migrate (docs/cfg.md)."]
    for slot in layout.slots:
        if slot.key is None:
            out += [""] + list(slot.comment)
            continue
        entry = doc.entry(slot.key)
        if slot.key in values:
            out += _leading(slot, entry, source_release)
            out.append(_line(slot.key, values[slot.key], entry))
        elif slot.commented and not _commented_in(kept_comments, slot.key):
            out += _leading(slot, None)
            out.append("#" + format_line(slot.key, slot.default))
    if unknown:
        out += ["", "#Keys harbor-migrate did not recognise, carried over unchanged "
                    f"(Harbor {layout.release} ignores them):"]
        for key in unknown:
            entry = doc.entry(key)
            out += _leading(None, entry)
            out.append(_line(key, values[key], entry))
    out += [""] + doc.trailer if doc.trailer else []
    return _tidy(out)


def _leading(slot: T.Slot | None, entry: Entry | None, source_release: str = "0.5.0") -> list[str]:
    if entry is not None and entry.comments:
        lines = list(entry.leading)
        start_blank = is_blank(lines[0])
        while lines and is_blank(lines[0]):
            lines.pop(0)
        if entry.key == "ldap_scope" and source_release == "0.5.0":
            lines = [_renumber_scope_comment(ln) if is_comment(ln) else ln for ln in lines]
        return ([""] if start_blank else []) + lines
    if slot is not None and slot.comment:
        return [""] + list(slot.comment)
    if entry is not None and entry.leading:
        return [""]
    return []


def _line(key: str, value: str, entry: Entry | None) -> str:
    if entry is None:
        return format_line(key, value)
    return dataclasses.replace(entry, value=value).line()


def _tidy(lines: list[str]) -> str:
    """Collapse runs of blank lines; no blank lines at either end."""
    out: list[str] = []
    for line in lines:
        if is_blank(line) and (not out or is_blank(out[-1])):
            continue
        out.append("" if is_blank(line) else line)
    while out and is_blank(out[-1]):
        out.pop()
    return "\n".join(out) + "\n"


def _validate_output(text: str, values: dict[str, str], layout: Layout = LAYOUTS["1.5.2"]) -> None:
    """Re-read what we wrote, as prepare will: every required key, every value intact."""
    doc = parse(text, source="converted harbor.cfg")
    missing = sorted(layout.required - set(doc.keys()))
    wrong = sorted(k for k, v in values.items() if doc.get(k) != v)
    if missing or wrong or doc.get("_version") != layout.version:
        raise MigratorError("internal error: the converted harbor.cfg does not read back as intended "
                            f"(missing {missing}, different {wrong}); please report this")
