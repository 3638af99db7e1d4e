"""Tessera's own SAML key pair, with which it signs its requests and which its metadata publishes.

From ``TESSERA_SAML_SP_KEY_FILE`` and ``TESSERA_SAML_SP_CERT_FILE`` when set; otherwise made once
and kept in the var folder (like the secret key of the embedded default).
"""

import datetime
import functools
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings


def self_signed(common_name: str, key_size: int = 3072, days: int = 3650) -> tuple[str, str]:
    """(private key PEM, certificate PEM) of a new RSA key with a self-signed certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem.decode(), cert.public_bytes(serialization.Encoding.PEM).decode()


def _make(key_path: Path, cert_path: Path) -> None:
    key_pem, cert_pem = self_signed("Tessera SAML service provider")
    key_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = key_path.with_suffix(".tmp")
    tmp.write_text(key_pem)
    tmp.chmod(0o600)
    cert_path.write_text(cert_pem)
    tmp.rename(key_path)  # the key appears last, so a reader that sees it also sees the certificate


@functools.cache
def key_and_certificate() -> tuple[str, str]:
    """(private key PEM, certificate PEM)."""
    key_file, cert_file = os.environ.get("TESSERA_SAML_SP_KEY_FILE"), os.environ.get("TESSERA_SAML_SP_CERT_FILE")
    if key_file and cert_file:
        return Path(key_file).read_text(), Path(cert_file).read_text()
    key_path, cert_path = settings.VAR_DIR / "saml-sp.key", settings.VAR_DIR / "saml-sp.crt"
    if not key_path.exists():
        _make(key_path, cert_path)
    return key_path.read_text(), cert_path.read_text()
