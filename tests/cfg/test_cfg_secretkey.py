"""The secret key: Harbor's encryption, the key file, and the check over replication targets."""
from __future__ import annotations

import base64
import json
import os

import pytest
from cfg_helpers import target_database
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from migrator.cfg.secretkey import (PREFIX, UndecodableValue, check_key, check_target_passwords, decrypt, encrypt,
                                    looks_like_plaintext, read_key)
from migrator.verdicts import Verdict
from migrator.errors import ExitCode, KeyInvalid

KEY = b"a7Kq2Lm9Zx4Rt8Wp"
WRONG = b"b7Kq2Lm9Zx4Rt8Wp"
IV = bytes(range(16))


def cfb128_by_hand(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """Full-block CFB from AES-ECB, as Go's cipher.NewCFBEncrypter computes it."""
    ecb = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    out, feedback = b"", iv
    for i in range(0, len(plaintext), 16):
        stream = ecb.update(feedback)
        block = bytes(p ^ s for p, s in zip(plaintext[i:i + 16], stream))
        out += block
        feedback = block if len(block) == 16 else feedback
    return out


def test_format_is_prefix_base64_iv_and_cfb128():
    stored = encrypt("Harbor12345-replication", KEY, iv=IV)
    assert stored.startswith(PREFIX)
    raw = base64.b64decode(stored[len(PREFIX):], validate=True)
    assert raw[:16] == IV
    assert raw[16:] == cfb128_by_hand(KEY, IV, b"Harbor12345-replication")


def test_round_trip_and_random_iv():
    a, b = encrypt("pässwörd", KEY), encrypt("pässwörd", KEY)
    assert a != b
    assert decrypt(a, KEY) == decrypt(b, KEY) == "pässwörd".encode()


def test_wrong_key_gives_garbage_not_an_error():
    plaintext = decrypt(encrypt("a-long-enough-password", KEY, iv=IV), WRONG)
    assert plaintext != b"a-long-enough-password"
    assert not looks_like_plaintext(plaintext)


def test_legacy_plain_base64():
    assert decrypt(base64.b64encode(b"old-password").decode(), KEY) == b"old-password"


@pytest.mark.parametrize("stored", [PREFIX + "%%%not-base64", PREFIX + base64.b64encode(b"short").decode()])
def test_undecodable_values(stored):
    with pytest.raises(UndecodableValue):
        decrypt(stored, KEY)


# --------------------------------------------------------------------------- the key file

def test_read_key(tmp_path):
    good = tmp_path / "secretkey"
    good.write_bytes(KEY)
    assert read_key(good) == KEY


@pytest.mark.parametrize("content, fragment", [
    (b"0123456789abcde", "holds 15 bytes, Harbor needs exactly 16"),
    (b"0123456789abcdef\n", "line break"),
    (b"", "holds 0 bytes"),
])
def test_bad_key_lengths(tmp_path, content, fragment):
    path = tmp_path / "secretkey"
    path.write_bytes(content)
    with pytest.raises(KeyInvalid) as exc:
        read_key(path)
    assert fragment in exc.value.message
    assert exc.value.exit_code == ExitCode.KEY_INVALID


def test_length_is_counted_in_bytes(tmp_path):
    # Harbor uses the file's bytes as the AES key: 15 characters that are 16 bytes work.
    path = tmp_path / "secretkey"
    path.write_bytes("0123456789abcdé".encode())
    assert len(read_key(path)) == 16


def test_missing_and_directory(tmp_path):
    with pytest.raises(KeyInvalid, match="does not exist"):
        read_key(tmp_path / "nope")
    with pytest.raises(KeyInvalid, match="is a directory"):
        read_key(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file, so unreadable cannot be staged")
def test_unreadable(tmp_path):
    path = tmp_path / "secretkey"
    path.write_bytes(KEY)
    path.chmod(0)
    with pytest.raises(KeyInvalid, match="cannot read"):
        read_key(path)


# --------------------------------------------------------------------------- the verdict (no server)

PASSWORDS = ["Repl-Pw-one-2017", "Repl-Pw-two-2018"]


def rows(key: bytes) -> list[tuple]:
    return [(1, "dc-east", encrypt(PASSWORDS[0], key)), (2, "dc-west", encrypt(PASSWORDS[1], key)),
            (3, "no-password", None), (4, "empty", "")]


def test_right_key_passes():
    check = check_target_passwords(rows(KEY), KEY)
    assert check.status == Verdict.OK
    assert check.data == {"targets": 4, "decrypted": 2, "failed": 0, "legacy": 0}


def test_wrong_key_is_flagged_by_id_and_name_only():
    stored = rows(KEY)
    check = check_target_passwords(stored, WRONG)
    assert check.status == Verdict.FAIL and check.exit_code == ExitCode.KEY_INVALID
    assert [d.split(":")[0] for d in check.details] == ["target id=1 name='dc-east'", "target id=2 name='dc-west'"]
    shown = json.dumps(check.to_json())
    for secret in PASSWORDS + [s for _, _, s in stored if s]:
        assert secret not in shown


def test_one_foreign_password_among_good_ones():
    mixed = rows(KEY) + [(5, "copied-from-other-harbor", encrypt("Other-Harbor-Pw", WRONG))]
    check = check_target_passwords(mixed, KEY)
    assert check.status == Verdict.FAIL and check.data["failed"] == 1
    assert check.details[0].startswith("target id=5 name='copied-from-other-harbor'")


def test_short_passwords_cannot_prove_the_key():
    check = check_target_passwords([(1, "t", encrypt("abc", KEY))], KEY)
    assert check.status == Verdict.WARN and "too short" in check.message


def test_nothing_to_test_against():
    check = check_target_passwords([(1, "t", None), (2, "legacy", base64.b64encode(b"plain").decode())], KEY)
    assert check.status == Verdict.SKIP
    assert check.details == ["target id=2 name='legacy': stored as plain base64 (not encrypted), so it cannot "
                             "test the key"]


def test_malformed_value_fails():
    check = check_target_passwords([(7, "broken", PREFIX + "@@@")], KEY)
    assert check.status == Verdict.FAIL and "not Harbor's format" in check.details[0]


# --------------------------------------------------------------------------- against MariaDB

@pytest.mark.integration
@pytest.mark.parametrize("revision", ["0.4.0", "1.5.0"])
def test_check_key_on_a_database(cfg_server, tmp_path, revision):
    good, bad = tmp_path / "good", tmp_path / "bad"
    good.write_bytes(KEY)
    bad.write_bytes(WRONG)
    db = target_database(cfg_server, revision, [("east", encrypt(PASSWORDS[0], KEY)),
                                                ("west", encrypt(PASSWORDS[1], KEY))])
    with db:
        ok = check_key(db, good)
        assert [c.status for c in ok] == [Verdict.OK, Verdict.OK]
        failed = check_key(db, bad)
        assert failed[1].status == Verdict.FAIL and failed[1].data["failed"] == 2
        assert "name='east'" in failed[1].details[0]
        short = tmp_path / "short"
        short.write_bytes(KEY[:15])
        with pytest.raises(KeyInvalid):
            check_key(db, short)
