from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response
from jose import jwt
from pydantic import StringConstraints

from pyk8s_contracts import auth as c
from pyk8s_contracts import subjects
from pyk8s_contracts.common import Contract, Ok
from pyk8s_kit.bus import request

from ..deps import Bus, ClientAddress, CurrentUser
from ..pages import PageQuery, link_next
from .invitations import check_signup_invitation

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginBody(Contract):
    login: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ApiTokenBody(Contract):
    name: c.TokenName
    expires_in_days: c.TokenDays = 30


@router.post("/signup", status_code=201, response_model=c.User)
async def signup(body: c.SignupRequest, bus: Bus) -> c.User:
    """Create an account. Usernames are DNS labels; passwords are 8 to 128 characters.
    With the `invitation_token` of an invitation sent to this email, the account joins that
    team (an invalid, used or expired token refuses the sign-up with 410). The joining is
    queued with the account itself and done by the teams service, usually within
    milliseconds, so it is never lost."""
    if body.invitation_token:
        await check_signup_invitation(bus, body.invitation_token, body.email)
    return await request(
        bus, subjects.AUTH_SIGNUP, body, c.User, timeout=c.PASSWORD_REQUEST_TIMEOUT_SECONDS
    )


@router.post("/login", response_model=c.TokenPair)
async def login(body: LoginBody, bus: Bus, client: ClientAddress) -> c.TokenPair:
    """Log in by username or email. Repeated failures make that (account, client) pair wait
    longer and longer (429 with Retry-After); failures from elsewhere only ever slow an
    account briefly, never lock it. When more people sign in at once than the auth service
    can check within its queue limit, the rest get 503 with Retry-After at once."""
    payload = c.LoginRequest(login=body.login, password=body.password, client=client)
    return await request(
        bus, subjects.AUTH_LOGIN, payload, c.TokenPair, timeout=c.PASSWORD_REQUEST_TIMEOUT_SECONDS
    )


@router.post("/refresh", response_model=c.TokenPair)
async def refresh(body: c.RefreshRequest, bus: Bus) -> c.TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    return await request(bus, subjects.AUTH_REFRESH, body, c.TokenPair)


@router.post("/access-token", response_model=c.AccessToken)
async def access_token(user: CurrentUser) -> c.AccessToken:
    """A short-lived access token for the caller. Signed in with an API token, this trades it
    for a token of minutes, which is what the `pyk8s kube-credential` exec plugin gives
    kubectl; signed in with an access token, the answer is that same token."""
    # Verified already (or minted by the auth service for an API token): read only its end.
    expires = jwt.get_unverified_claims(user.assertion)["exp"]
    return c.AccessToken(
        access_token=user.assertion, expires_at=datetime.fromtimestamp(expires, UTC)
    )


@router.post("/logout", status_code=204)
async def logout(body: c.RefreshRequest, bus: Bus, user: CurrentUser) -> Response:
    """Revoke the refresh token (and every token rotated from the same login)."""
    payload = c.LogoutRequest(actor_id=user.user_id, refresh_token=body.refresh_token)
    await request(bus, subjects.AUTH_LOGOUT, payload, Ok, actor=user.assertion)
    return Response(status_code=204)


@router.get("/me", response_model=c.User)
async def me(bus: Bus, user: CurrentUser) -> c.User:
    return await request(
        bus, subjects.AUTH_ME, c.MeRequest(actor_id=user.user_id), c.User, actor=user.assertion
    )


@router.post("/tokens", status_code=201, response_model=c.ApiTokenCreated)
async def create_token(body: ApiTokenBody, bus: Bus, user: CurrentUser) -> c.ApiTokenCreated:
    """Create a personal API token for CI. The token is shown in this answer only."""
    payload = c.ApiTokenCreateRequest(actor_id=user.user_id, **body.model_dump())
    return await request(
        bus, subjects.AUTH_TOKENS_CREATE, payload, c.ApiTokenCreated, actor=user.assertion
    )


@router.get("/tokens", response_model=c.ApiTokenList)
async def list_tokens(
    bus: Bus, user: CurrentUser, page: PageQuery, http: Request, response: Response
) -> c.ApiTokenList:
    """The caller's usable API tokens, newest first, a page at a time."""
    payload = c.ApiTokenListRequest(actor_id=user.user_id, **page.model_dump())
    tokens = await request(
        bus, subjects.AUTH_TOKENS_LIST, payload, c.ApiTokenList, actor=user.assertion
    )
    link_next(http, response, tokens.next_cursor)
    return tokens


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: UUID, bus: Bus, user: CurrentUser) -> Response:
    payload = c.ApiTokenRevokeRequest(actor_id=user.user_id, token_id=token_id)
    await request(bus, subjects.AUTH_TOKENS_REVOKE, payload, Ok, actor=user.assertion)
    return Response(status_code=204)
