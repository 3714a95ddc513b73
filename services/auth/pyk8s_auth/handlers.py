"""One function per NATS subject: decode contract -> call service -> reply."""

from nats.aio.client import Client as NATS

from pyk8s_contracts import auth as c
from pyk8s_contracts import subjects
from pyk8s_contracts.common import Empty, Ok
from pyk8s_kit.bus import Router

from .service import AuthService


def build_router(service: AuthService, nc: NATS) -> Router:
    router = Router()

    # Concurrent: each waits its turn in the password queue, which bounds them (passwords.py).
    @router.endpoint(subjects.AUTH_SIGNUP, c.SignupRequest, concurrent=True)
    async def signup(req: c.SignupRequest) -> c.User:
        return await service.signup(req)

    @router.endpoint(subjects.AUTH_LOGIN, c.LoginRequest, concurrent=True)
    async def login(req: c.LoginRequest) -> c.TokenPair:
        return await service.login(req)

    @router.endpoint(subjects.AUTH_REFRESH, c.RefreshRequest)
    async def refresh(req: c.RefreshRequest) -> c.TokenPair:
        return await service.refresh(req)

    @router.endpoint(subjects.AUTH_LOGOUT, c.LogoutRequest)
    async def logout(req: c.LogoutRequest) -> Ok:
        return await service.logout(req)

    @router.endpoint(subjects.AUTH_ME, c.MeRequest)
    async def me(req: c.MeRequest) -> c.User:
        return await service.me(req.actor_id)

    @router.endpoint(subjects.AUTH_JWKS, Empty)
    async def jwks(_: Empty) -> c.Jwks:
        return service.jwks()

    @router.endpoint(subjects.AUTH_USERS_LOOKUP, c.UserLookupRequest)
    async def lookup(req: c.UserLookupRequest) -> c.UserLookupReply:
        return await service.lookup(req.login)

    @router.endpoint(subjects.AUTH_USERS_GET_MANY, c.UsersGetManyRequest)
    async def get_many(req: c.UsersGetManyRequest) -> c.UsersGetManyReply:
        return await service.get_many(req.ids)

    @router.endpoint(subjects.AUTH_TOKENS_CREATE, c.ApiTokenCreateRequest)
    async def create_token(req: c.ApiTokenCreateRequest) -> c.ApiTokenCreated:
        return await service.create_api_token(req)

    @router.endpoint(subjects.AUTH_TOKENS_LIST, c.ApiTokenListRequest)
    async def list_tokens(req: c.ApiTokenListRequest) -> c.ApiTokenList:
        return await service.list_api_tokens(req)

    @router.endpoint(subjects.AUTH_TOKENS_REVOKE, c.ApiTokenRevokeRequest)
    async def revoke_token(req: c.ApiTokenRevokeRequest) -> Ok:
        reply = await service.revoke_api_token(req)
        # Every gateway replica drops the token from its cache at once.
        await nc.publish(
            subjects.AUTH_TOKEN_REVOKED,
            c.TokenRevoked(token_id=req.token_id).model_dump_json().encode(),
        )
        return reply

    @router.endpoint(subjects.AUTH_TOKENS_RESOLVE, c.ApiTokenResolveRequest)
    async def resolve_token(req: c.ApiTokenResolveRequest) -> c.ApiTokenResolveReply:
        return await service.resolve_api_token(req.token)

    return router
