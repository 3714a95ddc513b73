"""Single-use tickets that open the event stream from a browser, whose EventSource cannot send
an Authorization header, without a token in the URL.

A ticket is 256 random bits, valid for TICKET_SECONDS. Tickets live in a NATS KV bucket, so
any gateway replica redeems what another issued. The key is the ticket's SHA-256; the value
is the issuing token sealed (AES-GCM) with a key derived from the ticket, so the bucket alone
yields neither tickets nor tokens. Redeeming deletes the entry only if it is still the
revision that was read: of two concurrent redemptions, exactly one wins. The stream then
checks the unsealed token like a header token, and so ends when that token expires or is
revoked."""

import base64
import hashlib
import json
import os
import re
import secrets
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, KeyNotFoundError
from nats.js.kv import KeyValue

from pyk8s_contracts import subjects

BUCKET = subjects.STREAM_TICKETS_BUCKET
TICKET_SECONDS = 30.0
# Entries (and the delete markers of used tickets) leave the bucket by themselves after this.
BUCKET_TTL_SECONDS = 120.0
TICKET_BYTES = 32
NONCE_BYTES = 12
# 32 bytes in unpadded base64url.
TICKET_TEXT = re.compile(r"[A-Za-z0-9_-]{43}")


@dataclass(frozen=True)
class IssuedTicket:
    ticket: str
    expires_at: float


async def ticket_bucket(js: JetStreamContext, replicas: int) -> KeyValue:
    """The bucket, created, or brought to `replicas` when it exists with another count.
    Reads go to the stream's leader (no direct get): a follower could answer a redemption
    before it has applied the ticket just issued."""
    # File storage, although a ticket lives 30 seconds: a memory bucket would vanish with a
    # NATS restart and every ticket request would fail until the gateway restarted.
    config = KeyValueConfig(
        bucket=BUCKET,
        history=1,
        ttl=BUCKET_TTL_SECONDS,
        storage=StorageType.FILE,
        replicas=replicas,
    )
    try:
        return await js.create_key_value(config)
    except BadRequestError:
        await _set_replicas(js, f"KV_{BUCKET}", replicas)
        return await js.key_value(BUCKET)


async def _set_replicas(js: JetStreamContext, stream: str, replicas: int) -> None:
    current = (await js.stream_info(stream)).config
    if current.num_replicas != replicas:
        await js.update_stream(current.evolve(num_replicas=replicas))


def _key(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def _cipher(secret: bytes) -> AESGCM:
    kdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pyk8s stream ticket")
    return AESGCM(kdf.derive(secret))


def _secret_of(ticket: str) -> bytes | None:
    if not TICKET_TEXT.fullmatch(ticket):
        return None
    return base64.urlsafe_b64decode(ticket + "=")


async def issue(kv: KeyValue, token: str) -> IssuedTicket:
    secret = secrets.token_bytes(TICKET_BYTES)
    key = _key(secret)
    nonce = os.urandom(NONCE_BYTES)
    sealed = nonce + _cipher(secret).encrypt(nonce, token.encode(), key.encode())
    expires_at = time.time() + TICKET_SECONDS
    value = {"expires_at": expires_at, "sealed": base64.b64encode(sealed).decode()}
    await kv.create(key, json.dumps(value).encode())
    ticket = base64.urlsafe_b64encode(secret).rstrip(b"=").decode()
    return IssuedTicket(ticket, expires_at)


async def redeem(kv: KeyValue, ticket: str) -> str | None:
    """The token the ticket was issued for, once; None when the ticket is unknown, used or
    expired."""
    secret = _secret_of(ticket)
    if secret is None:
        return None
    key = _key(secret)
    try:
        entry = await kv.get(key)
    except KeyNotFoundError:
        return None
    try:
        await kv.delete(key, last=entry.revision)
    except BadRequestError:
        return None  # redeemed by someone else in between
    value = json.loads(entry.value)
    if time.time() >= value["expires_at"]:
        return None
    sealed = base64.b64decode(value["sealed"])
    try:
        token = _cipher(secret).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], key.encode())
    except InvalidTag:
        return None
    return token.decode()
