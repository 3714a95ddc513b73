"""ES256 signing key: generated once, stored in the auth database, shared by replicas."""

import base64
import hashlib
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pyk8s_contracts.auth import Jwk

ALGORITHM = "ES256"


def _b64(value: int) -> str:
    return base64.urlsafe_b64encode(value.to_bytes(32, "big")).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: str

    @classmethod
    def generate(cls) -> "SigningKey":
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return cls(kid=hashlib.sha256(public).hexdigest()[:16], private_pem=pem)

    def jwk(self) -> Jwk:
        key = serialization.load_pem_private_key(self.private_pem.encode(), password=None)
        numbers = key.public_key().public_numbers()
        return Jwk(
            kty="EC", crv="P-256", x=_b64(numbers.x), y=_b64(numbers.y), kid=self.kid, alg=ALGORITHM
        )
