"""Every forged or malformed access token is answered 401."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwt

ISSUER, AUDIENCE = "pyk8s-lab", "pyk8s-lab-api"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def auth_key(platform, embedded_pg) -> tuple[str, str]:
    database = platform.database_urls["auth"].rsplit("/", 1)[1]
    row = embedded_pg.psql("SELECT kid || '|' || private_pem FROM signing_keys", database)
    kid, pem = row.split("|", 1)
    return kid, pem


@pytest.fixture
def alice(person):
    return person()


def claims(user_id: str, **changes) -> dict:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "iat": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: tuple[str, str], body: dict, **headers) -> str:
    kid, pem = key
    return jwt.encode(body, pem, algorithm="ES256", headers={"kid": kid, **headers})


def me(api, token: str):
    return api.get("/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_a_well_formed_token_is_accepted(api, auth_key, alice):
    # The control: the forgeries below differ from this token in one thing each.
    assert me(api, sign(auth_key, claims(alice.id))).status_code == 200


def test_alg_none(api, alice):
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims(alice.id)).encode())
    assert me(api, f"{header}.{payload}.").status_code == 401


def test_hs256_signed_with_the_public_key(api, auth_key, alice):
    kid, pem = auth_key
    public = (
        serialization.load_pem_private_key(pem.encode(), None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = b64(json.dumps(claims(alice.id)).encode())
    signature = hmac.new(public, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert me(api, f"{header}.{payload}.{b64(signature)}").status_code == 401


def test_token_from_another_key_with_our_kid(api, auth_key, alice):
    other = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    assert me(api, sign((auth_key[0], other), claims(alice.id))).status_code == 401


def test_unknown_kid(api, auth_key, alice):
    assert me(api, sign(("not-our-key", auth_key[1]), claims(alice.id))).status_code == 401


def test_expired(api, auth_key, alice):
    past = int(time.time()) - 3600
    assert me(api, sign(auth_key, claims(alice.id, iat=past - 900, exp=past))).status_code == 401


@pytest.mark.parametrize("missing", ["exp", "aud", "sub", "iss", "iat", "jti", "typ"])
def test_missing_claim(api, auth_key, alice, missing):
    assert me(api, sign(auth_key, claims(alice.id, **{missing: None}))).status_code == 401


@pytest.mark.parametrize(
    "claim,value", [("iss", "someone-else"), ("aud", "another-api"), ("sub", "not-a-uuid")]
)
def test_wrong_claim(api, auth_key, alice, claim, value):
    assert me(api, sign(auth_key, claims(alice.id, **{claim: value}))).status_code == 401


@pytest.mark.parametrize("typ", ["refresh", "api", "id", ""])
def test_other_token_types_are_not_access_tokens(api, auth_key, alice, typ):
    assert me(api, sign(auth_key, claims(alice.id, typ=typ))).status_code == 401


def test_refresh_token_presented_as_access_token(api, alice):
    assert me(api, alice.tokens["refresh_token"]).status_code == 401


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "a.b.c",
        "Bearer",
        "pyk8s_pat_unknown",
        "e30.e30.e30",
        "x" * 5000,
        "pyk8s_pat_" + "x" * 300,
    ],
)
def test_garbage(api, token):
    answer = me(api, token)
    assert answer.status_code == 401
    assert answer.json()["code"] in ("invalid_token", "unauthorized")


def test_wrong_scheme(api, alice):
    answer = api.get("/auth/me", headers={"Authorization": f"Basic {alice.tokens['access_token']}"})
    assert answer.status_code == 401


def test_a_token_accepted_once_is_refused_when_it_expires(api, auth_key, alice):
    """Verified tokens are remembered (pyk8s_kit.actors), never past their expiry."""
    expires = int(time.time()) + 2
    token = sign(auth_key, claims(alice.id, exp=expires))
    assert me(api, token).status_code == 200
    deadline = time.monotonic() + 15
    while (status := me(api, token).status_code) == 200 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert status == 401
    assert time.time() >= expires
