"""`Annotated` dependency aliases used by the routes."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nats.aio.client import Client as NATS

from pyk8s_contracts.errors import ErrorCode

from .problems import Problem
from .security import InvalidToken, Principal, TokenVerifier
from .settings import GatewaySettings

bearer = HTTPBearer(auto_error=False, description="An access token (JWT) or an API token")


def get_bus(request: Request) -> NATS:
    return request.app.state.nc


def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


def get_verifier(request: Request) -> TokenVerifier:
    return request.app.state.verifier


Bus = Annotated[NATS, Depends(get_bus)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]


async def current_user(
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, ErrorCode.UNAUTHORIZED.value, "sign in first: no bearer token")
    try:
        return await verifier.verify(credentials.credentials)
    except InvalidToken:
        raise Problem(
            401, ErrorCode.INVALID_TOKEN.value, "the token is invalid or expired"
        ) from None


CurrentUser = Annotated[Principal, Depends(current_user)]


def client_address(request: Request, settings: Settings) -> str:
    """The caller's address, believing X-Forwarded-For only as far as trusted proxies go."""
    peer = request.client.host if request.client else "unknown"
    hops = settings.trusted_proxy_hops
    forwarded = request.headers.get("x-forwarded-for")
    if hops and forwarded:
        chain = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(chain) >= hops:
            return chain[-hops]
    return peer


ClientAddress = Annotated[str, Depends(client_address)]
