"""`Annotated` dependency aliases used by the routes. Every dependency is a coroutine:
FastAPI runs a plain `def` dependency on a worker thread, a hand-off per dependency per request
that cost the gateway more CPU than verifying the token."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nats.aio.client import Client as NATS

from pyk8s_contracts.errors import ErrorCode

from .problems import Problem
from .security import InvalidToken, Principal, TokenVerifier
from .settings import GatewaySettings

bearer = HTTPBearer(auto_error=False, description="An access token (JWT) or an API token")


def connected_bus(request: Request) -> NATS:
    """The bus for a route: while the gateway's connection is down, refuse at once instead of
    letting the route's work wait out its timeout in the client's buffer (requests to services
    are refused the same way by `pyk8s_kit.bus.request`; event streams and tickets use
    JetStream)."""
    nc = request.app.state.nc
    if not nc.is_connected:
        raise Problem(503, ErrorCode.UNAVAILABLE.value, "the message bus is unreachable")
    return nc


async def get_bus(request: Request) -> NATS:
    return connected_bus(request)


async def get_settings(request: Request) -> GatewaySettings:
    return request.app.state.settings


async def get_verifier(request: Request) -> TokenVerifier:
    return request.app.state.verifier


Bus = Annotated[NATS, Depends(get_bus)]
Settings = Annotated[GatewaySettings, Depends(get_settings)]


async def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    # The verifier comes from the app's state, not from one more dependency: FastAPI's cost
    # per request grows with each (docs/performance.md). It checks access tokens itself and
    # asks the auth service about API tokens (at once a 503 while the bus is down).
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Problem(401, ErrorCode.UNAUTHORIZED.value, "sign in first: no bearer token")
    try:
        return await request.app.state.verifier.verify(credentials.credentials)
    except InvalidToken:
        raise Problem(
            401, ErrorCode.INVALID_TOKEN.value, "the token is invalid or expired"
        ) from None


CurrentUser = Annotated[Principal, Depends(current_user)]


def forwarded_by_trusted_proxy(value: str | None, hops: int) -> str | None:
    """The entry of a comma-separated X-Forwarded-* header written by the outermost of `hops`
    trusted proxies (each appends one); None when there is no such entry to believe."""
    if not hops or not value:
        return None
    chain = [part.strip() for part in value.split(",") if part.strip()]
    return chain[-hops] if len(chain) >= hops else None


async def client_address(request: Request, settings: Settings) -> str:
    """The caller's address, believing X-Forwarded-For only as far as trusted proxies go."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    return forwarded_by_trusted_proxy(forwarded, settings.trusted_proxy_hops) or peer


ClientAddress = Annotated[str, Depends(client_address)]
