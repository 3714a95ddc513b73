"""Access-token verification. JWTs are checked against the auth service's public keys
(fetched over NATS) with a pinned algorithm and every claim required; API tokens are
resolved by the auth service and cached briefly, with revocations broadcast to drop them."""

import asyncio
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass

from jose import JWTError, jwt
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from pyk8s_contracts import auth as c
from pyk8s_contracts import subjects
from pyk8s_contracts.common import Empty
from pyk8s_kit.bus import ServiceError, request

log = logging.getLogger(__name__)

ALGORITHMS = ["ES256"]
API_TOKEN_PREFIX = "pyk8s_pat_"
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "exp", "jti")
JWKS_REFETCH_SECONDS = 10.0


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    token_id: uuid.UUID | None = None  # set when authenticated by an API token


@dataclass
class _Cached:
    principal: Principal
    until: float


class TokenVerifier:
    def __init__(self, nc: NATS, api_token_cache_seconds: float) -> None:
        self._nc = nc
        self._cache_seconds = api_token_cache_seconds
        self._keys: dict[str, dict] = {}
        self._issuer = ""
        self._audience = ""
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._api_tokens: dict[str, _Cached] = {}

    async def start(self) -> None:
        await self._nc.subscribe(subjects.AUTH_TOKEN_REVOKED, cb=self._on_revoked)

    async def _on_revoked(self, msg: Msg) -> None:
        try:
            revoked = c.TokenRevoked.model_validate_json(msg.data)
        except ValueError:
            return
        for key, cached in list(self._api_tokens.items()):
            if cached.principal.token_id == revoked.token_id:
                del self._api_tokens[key]

    async def _load_keys(self, force: bool = False) -> None:
        async with self._lock:
            if self._keys and not force:
                return
            if force and time.monotonic() - self._fetched_at < JWKS_REFETCH_SECONDS:
                return
            jwks = await request(self._nc, subjects.AUTH_JWKS, Empty(), c.Jwks)
            self._keys = {k.kid: k.model_dump() for k in jwks.keys}
            self._issuer, self._audience = jwks.issuer, jwks.audience
            self._fetched_at = time.monotonic()

    async def verify(self, token: str) -> Principal:
        if token.startswith(API_TOKEN_PREFIX):
            return await self._resolve_api_token(token)
        return await self._verify_jwt(token)

    async def _verify_jwt(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except JWTError:
            raise InvalidToken("malformed token") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken("algorithm not allowed")
        await self._load_keys()
        kid = header.get("kid")
        if kid not in self._keys:
            await self._load_keys(force=True)
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("unknown signing key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._audience,
                issuer=self._issuer,
                # python-jose skips absent claims unless told they are required.
                options={f"require_{claim}": True for claim in REQUIRED_CLAIMS},
            )
        except JWTError as error:
            raise InvalidToken(str(error)) from None
        if claims.get("typ") != "access":
            raise InvalidToken("not an access token")
        try:
            return Principal(user_id=uuid.UUID(claims["sub"]))
        except (ValueError, TypeError):
            raise InvalidToken("bad subject") from None

    async def _resolve_api_token(self, token: str) -> Principal:
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._api_tokens.get(key)
        now = time.monotonic()
        if cached and cached.until > now:
            return cached.principal
        try:
            reply = await request(
                self._nc,
                subjects.AUTH_TOKENS_RESOLVE,
                c.ApiTokenResolveRequest(token=token),
                c.ApiTokenResolveReply,
            )
        except ServiceError as error:
            if error.code.value == "invalid_token":
                raise InvalidToken("invalid API token") from None
            raise
        principal = Principal(user_id=reply.user_id, token_id=reply.token_id)
        # Never cache past the token's own expiry.
        remaining = reply.expires_at.timestamp() - time.time()
        self._api_tokens[key] = _Cached(principal, now + min(self._cache_seconds, remaining))
        return principal
