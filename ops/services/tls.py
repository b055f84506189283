"""The local broker's TLS material, for a client listener on SASL_SSL.

With ``HUB_KAFKA_SECURITY_PROTOCOL=SASL_SSL`` the broker that ``hub services up kafka``
starts speaks TLS on its client listener with a certificate of its own certificate authority,
made once under ``<var>/kafka/tls/``: ``ca.pem`` is what clients trust
(``HUB_KAFKA_SSL_CAFILE``); the broker's key never leaves its private files. A city's own
cluster has certificates from the city's CA instead; this is for trying the TLS path here.
The CA's key is not kept: nothing else is ever signed by it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.files import private_dir, private_file

VALID = timedelta(days=825)  # the longest server certificate browsers' CAs may issue
CA_FILE = "ca.pem"
CERT_FILE = "broker.pem"
KEY_FILE = "broker.key"


@dataclass(frozen=True)
class BrokerTls:
    ca: str  # PEM of the CA certificate
    chain: str  # PEM of the broker's certificate, then the CA's
    key: str  # PEM (PKCS#8, unencrypted) of the broker's key

    def properties(self) -> dict[str, str]:
        """server.properties entries: the key store and trust store as PEM strings (Kafka
        reads an unencrypted key only inline, not from a PEM file)."""
        return {
            "ssl.keystore.type": "PEM",
            "ssl.keystore.certificate.chain": _inline(self.chain),
            "ssl.keystore.key": _inline(self.key),
            "ssl.truststore.type": "PEM",  # the broker reaching itself, inter-broker
            "ssl.truststore.certificates": _inline(self.ca),
        }


def folder(kafka_home: Path) -> Path:
    return kafka_home / "tls"


def ca_file(kafka_home: Path) -> Path:
    return folder(kafka_home) / CA_FILE


def broker_tls(kafka_home: Path, host: str) -> BrokerTls:
    """The broker's TLS material, made once: a CA and a certificate for ``host`` (and
    127.0.0.1, localhost), made again when they no longer name it or are near their end."""
    here = private_dir(folder(kafka_home))
    paths = [here / CA_FILE, here / CERT_FILE, here / KEY_FILE]
    if all(p.exists() for p in paths):
        found = BrokerTls(*(p.read_text() for p in paths))
        if _still_good(found, host):
            return found
    made = _make(host)
    for path, text in zip(paths, (made.ca, made.chain, made.key), strict=True):
        written = private_file(path.with_name(path.name + ".new"))
        written.write_text(text)
        written.replace(path)
    return made


def _names(host: str) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    try:
        address = ipaddress.ip_address(host)
        if x509.IPAddress(address) not in names:
            names.append(x509.IPAddress(address))
    except ValueError:
        if host != "localhost":
            names.append(x509.DNSName(host))
    return names


def _still_good(tls: BrokerTls, host: str) -> bool:
    """Whether the files make one whole: the certificate names ``host``, is not near its end,
    was signed by the CA beside it and belongs to the key beside it (a crash between two
    writes, or a damaged file, makes them all again)."""
    try:
        cert = x509.load_pem_x509_certificate(tls.chain.encode())
        ca = x509.load_pem_x509_certificate(tls.ca.encode())
        key = serialization.load_pem_private_key(tls.key.encode(), password=None)
        cert.verify_directly_issued_by(ca)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, TypeError, x509.ExtensionNotFound, InvalidSignature):
        return False
    pem, info = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    soon = datetime.now(UTC) + timedelta(days=30)
    return (
        key.public_key().public_bytes(pem, info) == cert.public_key().public_bytes(pem, info)
        and all(n in names for n in _names(host))
        and cert.not_valid_after_utc > soon
    )


def _make(host: str) -> BrokerTls:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kitakyushu-hub local broker CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALID)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALID)
        .add_extension(x509.SubjectAlternativeName(_names(host)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem).decode()
    return BrokerTls(
        ca=ca_pem,
        chain=cert.public_bytes(pem).decode() + ca_pem,
        key=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
    )


def _inline(pem: str) -> str:
    """A PEM text as one properties value (the file's writer escapes its line breaks)."""
    return pem.strip()
