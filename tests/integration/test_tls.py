"""A server that requires TLS: the DSN's ssl_ca (and ssl=required) reach it; without TLS it refuses."""
from __future__ import annotations

import datetime as dt
import ipaddress

import pytest

from migrator.errors import ExitCode
from migrator.tools.local_server import LocalServer
from migrator.tools.seed import seed_050
from migrator.mysql.connection import connect
from tests.conftest import _need_server
from tests.helpers import run_cli

pytestmark = pytest.mark.integration


def _certificates(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    def key():
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    now = dt.datetime.now(dt.timezone.utc)
    ca_key, server_key = key(), key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harbor-migrate test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(server_key.public_key()).serial_number(2)
              .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    files = {}
    for name, obj in (("ca.pem", ca), ("server.pem", server)):
        files[name] = directory / name
        files[name].write_bytes(obj.public_bytes(serialization.Encoding.PEM))
    files["server-key.pem"] = directory / "server-key.pem"
    files["server-key.pem"].write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    return files


@pytest.fixture
def tls_server(tmp_path):
    _need_server()
    certs = _certificates(tmp_path)
    server = LocalServer({"ssl-ca": str(certs["ca.pem"]), "ssl-cert": str(certs["server.pem"]),
                          "ssl-key": str(certs["server-key.pem"]), "explicit-defaults-for-timestamp": "OFF"}).start()
    server.admin("CREATE USER 'tlsuser'@'127.0.0.1' IDENTIFIED BY 'tls-secret' REQUIRE SSL",
                 "GRANT ALL PRIVILEGES ON *.* TO 'tlsuser'@'127.0.0.1'")
    server.create_database("registry")
    with connect(server.settings("registry")) as db:
        seed_050(db)
    yield server, certs
    server.destroy()


def test_tls_required_account(tls_server, tmp_path):
    """REQUIRE SSL account: ?ssl=required encrypts; an ssl_ca is enforced (a foreign CA is refused)."""
    server, certs = tls_server
    base = f"mysql://tlsuser:tls-secret@127.0.0.1:{server.port}/registry"
    (tmp_path / "other").mkdir()
    other = _certificates(tmp_path / "other")
    code, out, err = run_cli(["status", "--dsn", f"{base}?ssl_ca={other['ca.pem']}"])
    assert code == ExitCode.CONNECTION and "CERTIFICATE_VERIFY_FAILED" in err and "tls-secret" not in err, err
    from migrator.settings import resolve_connection
    settings = resolve_connection({"dsn": f"{base}?ssl=required"}, environ={})
    with connect(settings) as db:
        assert db.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")[0][1]  # the session is encrypted
    code, out, err = run_cli(["upgrade", "--yes", "--no-snapshot", "--dsn", f"{base}?ssl=required"])
    assert code == 0 and "no drift" in out, err
    assert "tls-secret" not in out + err


def test_snapshot_and_restore_over_tls(tls_server, tmp_path):
    """The dump and SQL clients get the same TLS options; a foreign CA is refused by them too."""
    from migrator.settings import resolve_connection
    from migrator.snapshot.restore import restore_snapshot
    from migrator.snapshot.digests import live_digests
    from migrator.snapshot.take import take_snapshot

    server, certs = tls_server
    base = f"mysql://tlsuser:tls-secret@127.0.0.1:{server.port}/registry"
    settings = resolve_connection({"dsn": f"{base}?ssl_ca={certs['ca.pem']}"}, environ={})
    with connect(settings) as db:
        manifest = take_snapshot(db, tmp_path / "snap")
    restore_snapshot(manifest, settings.with_database("copy"))
    (tmp_path / "other").mkdir()
    other = _certificates(tmp_path / "other")
    foreign = resolve_connection({"dsn": f"{base}?ssl_ca={other['ca.pem']}"}, environ={})
    with pytest.raises(Exception) as exc:
        live_digests(foreign, ["user"])
    assert exc.value.exit_code == ExitCode.CONNECTION and "tls-secret" not in str(exc.value)
