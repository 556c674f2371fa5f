"""Harbor's secret key: read it, use it, and prove it is the one the database was written with.

Harbor encrypts replication target passwords (and, from 1.2 on, six adminserver
settings) as ``"<enc-v1>"`` + base64(IV(16) ‖ AES-CFB(key, IV, plaintext)),
the key being the 16 bytes of the ``secretkey`` file used raw as AES-128
(harbor-facts §5.3). A value without the prefix is legacy plain base64. CFB
has no integrity check: a wrong key "decrypts" to garbage, so the check looks
at whether every plaintext is printable UTF-8. No plaintext or ciphertext ever
goes into a message, a detail or a log.
"""
from __future__ import annotations

import base64
import binascii
import math
import os
import pathlib

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # cryptography >= 47 keeps CFB among the "decrepit" modes; 49 drops the old name
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - older cryptography
    from cryptography.hazmat.primitives.ciphers.modes import CFB

from ..verdicts import Check, Verdict
from ..errors import ExitCode, KeyInvalid, NotHarbor
from ..mysql.connection import Database

PREFIX = "<enc-v1>"
KEY_BYTES = 16
IV_BYTES = 16
# Below this chance that every stored password of a wrong key still looks
# printable, a clean result is proof enough.
_DOUBT = 1e-3
_PRINTABLE_ASCII = 95 / 256


def read_key(path: str | os.PathLike) -> bytes:
    """The key file's bytes; KeyInvalid when missing, unreadable or not exactly 16 bytes."""
    p = pathlib.Path(path)
    if not p.exists():
        raise KeyInvalid(f"secret key file {p} does not exist: use the 'secretkey' file of your 0.5.0 "
                         "installation (<data volume>/secretkey, default /data/secretkey)")
    if p.is_dir():
        raise KeyInvalid(f"secret key file {p} is a directory: give the 'secretkey' file inside it")
    try:
        key = p.read_bytes()
    except OSError as exc:
        raise KeyInvalid(f"cannot read the secret key file {p}: {exc.strerror}; run as a user that may read it")
    if len(key) != KEY_BYTES:
        hint = ""
        if len(key.rstrip(b"\r\n")) == KEY_BYTES:
            hint = " (the key plus a line break: an editor added it; Harbor's prepare refuses it too)"
        raise KeyInvalid(f"secret key file {p} holds {len(key)} bytes, Harbor needs exactly {KEY_BYTES}{hint}")
    return key


def _cipher(key: bytes, iv: bytes) -> Cipher:
    if len(key) != KEY_BYTES:
        raise KeyInvalid(f"the secret key must be {KEY_BYTES} bytes, got {len(key)}")
    return Cipher(algorithms.AES(key), CFB(iv))   # CFB with 128-bit segments, as Go's cipher.NewCFB*


def encrypt(plaintext: str, key: bytes, iv: bytes | None = None) -> str:
    """Harbor's ReversibleEncrypt: ``<enc-v1>`` + base64(IV ‖ AES-CFB(plaintext))."""
    iv = os.urandom(IV_BYTES) if iv is None else iv
    enc = _cipher(key, iv).encryptor()
    body = enc.update(plaintext.encode("utf-8")) + enc.finalize()
    return PREFIX + base64.b64encode(iv + body).decode("ascii")


class UndecodableValue(ValueError):
    """The stored value is not in Harbor's format (no key can decrypt it)."""


def decrypt(stored: str, key: bytes) -> bytes:
    """Harbor's ReversibleDecrypt, returning the raw plaintext bytes (may be garbage for a wrong key)."""
    if not stored.startswith(PREFIX):
        return _b64(stored)
    raw = _b64(stored[len(PREFIX):])
    if len(raw) < IV_BYTES:
        raise UndecodableValue("shorter than the 16-byte IV")
    dec = _cipher(key, raw[:IV_BYTES]).decryptor()
    return dec.update(raw[IV_BYTES:]) + dec.finalize()


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise UndecodableValue("not valid base64") from None


def looks_like_plaintext(data: bytes) -> bool:
    """What a real password is: UTF-8 text without control characters."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable()


def chance_of_false_pass(plaintext_sizes: list[int]) -> float:
    """Rough chance that a wrong key makes all these plaintexts look printable (ASCII only)."""
    return math.prod(_PRINTABLE_ASCII ** n for n in plaintext_sizes) if plaintext_sizes else 1.0


def check_key(db: Database, keyfile: str | os.PathLike) -> list[Check]:
    """Checks: the key file, and that every replication target password decrypts to text.

    Raises KeyInvalid when the file is unusable. A failing target check carries
    ExitCode.KEY_INVALID; targets are named by id and name only.
    """
    key = read_key(keyfile)
    checks = [Check("secretkey.file", Verdict.OK, f"{keyfile}: {KEY_BYTES} bytes")]
    if not db.has_table("replication_target"):
        raise NotHarbor(f"{db.settings.describe()} has no replication_target table: not a Harbor database")
    rows = db.query("SELECT id, name, password FROM replication_target ORDER BY id")
    checks.append(check_target_passwords(rows, key))
    return checks


def check_target_passwords(rows: list[tuple], key: bytes) -> Check:
    """The verdict over (id, name, stored password) rows; pure, so it is testable without a server."""
    bad: list[str] = []
    legacy: list[str] = []
    sizes: list[int] = []
    for target_id, name, stored in rows:
        label = f"target id={target_id} name={name!r}"
        if not stored:
            continue
        try:
            plaintext = decrypt(stored, key)
        except UndecodableValue as exc:
            bad.append(f"{label}: the stored password is not Harbor's format ({exc})")
            continue
        if not stored.startswith(PREFIX):
            legacy.append(f"{label}: stored as plain base64 (not encrypted), so it cannot test the key")
            continue
        if looks_like_plaintext(plaintext):
            sizes.append(len(plaintext))
        else:
            bad.append(f"{label}: decrypts to bytes that are not text — the key is not the one it was "
                       "encrypted with")
    data = {"targets": len(rows), "decrypted": len(sizes), "failed": len(bad), "legacy": len(legacy)}
    if bad:
        return Check("secretkey.replication_targets", Verdict.FAIL,
                     f"{len(bad)} of {len(sizes) + len(bad)} encrypted target password(s) do not decrypt with "
                     "this key: use the secretkey file of the 0.5.0 installation that stored them",
                     bad + legacy, data, exit_code=int(ExitCode.KEY_INVALID))
    if not sizes:
        return Check("secretkey.replication_targets", Verdict.SKIP,
                     "no encrypted replication target password to test the key against", legacy, data)
    if chance_of_false_pass(sizes) > _DOUBT:
        return Check("secretkey.replication_targets", Verdict.WARN,
                     f"{len(sizes)} target password(s) decrypt to text, but they are too short to prove the "
                     "key: a wrong key could also give text", legacy, data)
    return Check("secretkey.replication_targets", Verdict.OK,
                 f"all {len(sizes)} encrypted target password(s) decrypt to text with this key", legacy, data)
