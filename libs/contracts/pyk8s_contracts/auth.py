"""Auth service contracts."""

import json
from datetime import datetime
from importlib.resources import files
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StrictInt, StringConstraints

from .common import ByUser, Contract, DisplayName, Page, PageRequest, Username
from .emails import Email
from .teams import InvitationToken

# The password rules, as data: the sign-up form shows and checks the same file.
PASSWORD_RULES = json.loads(files(__package__).joinpath("password.json").read_text())
Password = Annotated[
    str,
    StringConstraints(
        min_length=PASSWORD_RULES["min_length"], max_length=PASSWORD_RULES["max_length"]
    ),
]
TokenName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Strict: a body's `true` or `"30"` is refused rather than read as a number.
TokenDays = Annotated[StrictInt, Field(ge=1, le=365)]

# How long a caller waits for the answer to a sign-up or a login. The auth service checks
# passwords in a bounded queue and refuses at once (service_unavailable, retry_after) a request
# it expects to wait longer than its limit, which is at most half of this.
PASSWORD_REQUEST_TIMEOUT_SECONDS = 20.0
# Access-token claim, true for platform admins only (AUTH_PLATFORM_ADMINS); team roles never
# grant it.
PLATFORM_ADMIN_CLAIM = "pyk8s_platform_admin"


class User(Contract):
    id: UUID
    username: str
    email: str
    display_name: str
    created_at: datetime


class SignupRequest(Contract):
    username: Username
    email: Email
    password: Password
    display_name: DisplayName | None = None
    # An invitation sent to this email: the new account joins that team (see SignupInvited).
    invitation_token: InvitationToken | None = None


class SignupInvited(Contract):
    """Queued in the same transaction as the account it names, for the teams service to
    redeem: the account joins the team even if the teams service is down at sign-up."""

    user_id: UUID
    email: str
    invitation_token: InvitationToken


class LoginRequest(Contract):
    login: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    client: str = "unknown"


class TokenPair(Contract):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class AccessToken(Contract):
    """A short-lived access token for the caller, e.g. traded for an API token so that a
    kubeconfig's exec plugin never hands the long-lived token to kubectl."""

    access_token: str
    expires_at: datetime


class RefreshRequest(Contract):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class LogoutRequest(ByUser):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class MeRequest(ByUser):
    pass


class Jwk(Contract):
    kty: str
    crv: str
    x: str
    y: str
    kid: str
    alg: str
    use: str = "sig"


class Jwks(Contract):
    keys: list[Jwk]
    issuer: str
    audience: str


class UserLookupRequest(Contract):
    login: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]


class UserLookupReply(Contract):
    user: User | None


class UsersGetManyRequest(Contract):
    ids: Annotated[list[UUID], Field(max_length=1000)]


class UsersGetManyReply(Contract):
    users: list[User]


class ApiTokenCreateRequest(ByUser):
    name: TokenName
    expires_in_days: TokenDays = 30


class ApiToken(Contract):
    id: UUID
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None = None


class ApiTokenCreated(ApiToken):
    token: str


class ApiTokenList(Page):
    tokens: list[ApiToken]


class ApiTokenListRequest(ByUser, PageRequest):
    """The actor's usable API tokens, newest first."""


class ApiTokenRevokeRequest(ByUser):
    token_id: UUID


class ApiTokenResolveRequest(Contract):
    token: Annotated[str, StringConstraints(max_length=200)]


class ApiTokenResolveReply(Contract):
    user_id: UUID
    token_id: UUID
    expires_at: datetime
    # A short-lived access token for the same user: what the gateway shows services as the
    # actor of the requests it makes with this API token.
    assertion: str


class TokenRevoked(Contract):
    token_id: UUID
