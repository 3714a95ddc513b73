"""Access-token verification. JWTs are checked by the kit's verifier against the auth
service's public keys (fetched over NATS); API tokens are resolved by the auth service and
cached briefly, with revocations broadcast to drop them. Either way the principal carries an
access token for its user: the assertion services verify before acting (pyk8s_kit.actors)."""

import hashlib
import logging
import time
import uuid
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from pydantic import ValidationError

from pyk8s_contracts import auth as c
from pyk8s_contracts import subjects
from pyk8s_kit.actors import AccessTokenVerifier, InvalidToken
from pyk8s_kit.bus import ServiceError, request

log = logging.getLogger(__name__)

API_TOKEN_PREFIX = "pyk8s_pat_"

__all__ = ["InvalidToken", "Principal", "TokenVerifier"]


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    # An access token naming `user_id`, sent with every request made on the user's behalf.
    assertion: str
    token_id: uuid.UUID | None = None  # set when authenticated by an API token
    # The access token grants the platform-admin role (rbac.json `platform`).
    platform_admin: bool = False


@dataclass
class _Cached:
    principal: Principal
    until: float


class TokenVerifier:
    def __init__(self, nc: NATS, api_token_cache_seconds: float) -> None:
        self._nc = nc
        self._cache_seconds = api_token_cache_seconds
        self._jwts = AccessTokenVerifier(nc)
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

    async def verify(self, token: str) -> Principal:
        if token.startswith(API_TOKEN_PREFIX):
            return await self._resolve_api_token(token)
        actor = await self._jwts.verify(token)
        return Principal(
            user_id=actor.user_id, assertion=token, platform_admin=actor.platform_admin
        )

    async def _resolve_api_token(self, token: str) -> Principal:
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._api_tokens.get(key)
        now = time.monotonic()
        if cached and cached.until > now:
            return cached.principal
        try:
            resolve = c.ApiTokenResolveRequest(token=token)
        except ValidationError:  # too long, or a NUL: no such token was ever issued
            raise InvalidToken("invalid API token") from None
        try:
            reply = await request(
                self._nc, subjects.AUTH_TOKENS_RESOLVE, resolve, c.ApiTokenResolveReply
            )
        except ServiceError as error:
            if error.code.value == "invalid_token":
                raise InvalidToken("invalid API token") from None
            raise
        # The assertion says, as for a signed-in person, whether the role is theirs.
        actor = await self._jwts.verify(reply.assertion)
        principal = Principal(
            user_id=reply.user_id,
            assertion=reply.assertion,
            token_id=reply.token_id,
            platform_admin=actor.platform_admin,
        )
        # Never cache past the token's own expiry.
        remaining = reply.expires_at.timestamp() - time.time()
        self._api_tokens[key] = _Cached(principal, now + min(self._cache_seconds, remaining))
        return principal
