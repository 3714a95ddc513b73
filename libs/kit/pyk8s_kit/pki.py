"""Certificates for servers on this machine: the CA and the gateway's certificate that `make up`
makes on its first run (scripts/up.py), and those of the servers tests run (the gateway, a
Kubernetes API server double, NATS). Not a CA for production: deployments bring their own."""

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK = ("127.0.0.1", "::1", "localhost")
# Only signing certificates and revocation lists.
CA_USAGE = x509.KeyUsage(False, False, False, False, False, True, True, False, False)


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def certificate_pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    def key_pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()

    def write(self, certificate: Path, key: Path) -> tuple[Path, Path]:
        """The key file is readable by its owner only, from its creation on."""
        certificate.write_text(self.certificate_pem())
        key.touch(mode=0o600)
        key.write_text(self.key_pem())
        return certificate, key


def authority(name: str, lifetime: datetime.timedelta) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(name, key, None, lifetime, is_ca=True).add_extension(CA_USAGE, critical=True)
    return Issued(builder.sign(key, hashes.SHA256()), key)


def issue(
    ca: Issued, name: str, lifetime: datetime.timedelta, server_names: Sequence[str] = ()
) -> Issued:
    """A server certificate for `server_names`, or a client certificate without them."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(name, key, ca, lifetime, is_ca=False)
    if server_names:
        builder = builder.add_extension(_names(server_names), critical=False)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server_names else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def self_signed(
    lifetime: datetime.timedelta, server_names: Sequence[str] = ("127.0.0.1",)
) -> Issued:
    """A server certificate that is its own CA: what a client trusts is the certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(server_names[0], key, None, lifetime, is_ca=True).add_extension(
        _names(server_names), critical=False
    )
    return Issued(builder.sign(key, hashes.SHA256()), key)


def _builder(
    name: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: Issued | None,
    lifetime: datetime.timedelta,
    is_ca: bool,
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + lifetime)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    return builder


def _names(server_names: Sequence[str]) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName([_name(name) for name in server_names])


def _name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)
