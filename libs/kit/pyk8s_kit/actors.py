"""Verified actors. A request made on behalf of a person carries that person's access token (an
ES256 JWT signed by the auth service) in the `Pyk8s-Actor` header; every service checks it
against the auth service's public keys before acting, so nobody on the bus can act as someone
else by naming them. The gateway verifies the same way, through this one verifier."""

import asyncio
import time
import uuid

from jose import JWTError, jwt
from nats.aio.client import Client as NATS

from pyk8s_contracts import auth as auth_contract
from pyk8s_contracts import subjects
from pyk8s_contracts.common import Empty

from .bus import Actor, request

ALGORITHMS = ["ES256"]
REQUIRED_CLAIMS = ("iss", "aud", "sub", "iat", "exp", "jti")
JWKS_REFETCH_SECONDS = 10.0
# Tokens verified already, kept until they expire: every request carries the same access token
# to the gateway and to each service it reaches, and checking its signature again cost more
# CPU than the rest of a service's work on a read. A bound keeps a flood of distinct valid
# tokens from growing it.
VERIFIED_TOKENS_KEPT = 4096


class InvalidToken(Exception):
    pass


class AccessTokenVerifier:
    """Checks access tokens against the keys the auth service publishes on `auth.jwks` (only
    the auth service may answer there), refetching when an unknown key id appears."""

    def __init__(self, nc: NATS) -> None:
        self._nc = nc
        self._keys: dict[str, dict] = {}
        self._issuer = ""
        self._audience = ""
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._verified: dict[str, tuple[Actor, float]] = {}

    async def _load_keys(self, force: bool = False) -> None:
        async with self._lock:
            if self._keys and not force:
                return
            if force and time.monotonic() - self._fetched_at < JWKS_REFETCH_SECONDS:
                return
            jwks = await request(self._nc, subjects.AUTH_JWKS, Empty(), auth_contract.Jwks)
            self._keys = {k.kid: k.model_dump() for k in jwks.keys}
            self._issuer, self._audience = jwks.issuer, jwks.audience
            self._fetched_at = time.monotonic()

    async def _key_for(self, token: str) -> dict:
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
        return key

    async def user_id(self, token: str) -> uuid.UUID:
        """The user an access token names, or `InvalidToken`."""
        return (await self.verify(token)).user_id

    async def verify(self, token: str) -> Actor:
        """The actor an access token names, or `InvalidToken`."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        actor, expires = await self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            # The oldest entry goes first (dicts keep insertion order).
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (actor, expires)
        return actor

    async def _verify(self, token: str) -> tuple[Actor, float]:
        key = await self._key_for(token)
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
            user_id = uuid.UUID(claims["sub"])
        except (ValueError, TypeError):
            raise InvalidToken("bad subject") from None
        admin = claims.get(auth_contract.PLATFORM_ADMIN_CLAIM) is True
        return Actor(user_id, admin), float(claims["exp"])

    async def actor(self, token: str) -> Actor | None:
        """For `pyk8s_kit.bus.serve`: the actor a request's assertion names, None if invalid."""
        try:
            return await self.verify(token)
        except InvalidToken:
            return None
