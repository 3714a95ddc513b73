"""The rules of the auth service. No SQL here (see repository.py), no NATS (handlers.py)."""

import asyncio
import hashlib
import logging
import math
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from jose import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from pyk8s_contracts import auth as c
from pyk8s_contracts import subjects
from pyk8s_contracts.common import Ok
from pyk8s_contracts.emails import undeliverable
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.events import CloudEvent, event_type
from pyk8s_kit import pages
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database
from pyk8s_kit.outbox import add_event

from .keys import ALGORITHM, SigningKey
from .models import ApiToken, OutboxEvent, RefreshToken, User
from .models import SigningKey as SigningKeyRow
from .passwords import Passwords
from .repository import AuthRepository, LoginState
from .settings import AuthSettings

log = logging.getLogger(__name__)

REFRESH_PREFIX = "pyk8s_rt_"
API_TOKEN_PREFIX = "pyk8s_pat_"
INVALID_LOGIN = "invalid login or password"


def _now() -> datetime:
    return datetime.now(UTC)


def _hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough to store them safely.
    return hashlib.sha256(token.encode()).hexdigest()


def _queue_invitation(session: AsyncSession, user: User, token: str) -> None:
    """In the sign-up's own transaction, so the account and its pending redemption are
    written together or not at all."""
    invited = c.SignupInvited(user_id=user.id, email=user.email, invitation_token=token)
    event = CloudEvent(
        type=event_type("signup", "invited"),
        source="/pyk8s/auth",
        subject=str(user.id),
        data=invited.model_dump(mode="json"),
    )
    add_event(session, OutboxEvent, subjects.SIGNUP_INVITED, event)


def _backoff(failures: int, free: int, first: float, cap: float) -> float:
    """The wait after `failures` failures: none before `free` of them, then first, twice
    that, four times ... at most cap."""
    if failures < free:
        return 0.0
    return min(cap, first * 2 ** min(failures - free, 32))


def _user(row: User) -> c.User:
    return c.User.model_validate(row)


class AuthService:
    def __init__(
        self,
        db: Database,
        settings: AuthSettings,
        passwords: Passwords,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.db = db
        self.settings = settings
        self.passwords = passwords
        # Login throttling reads the time here, so tests can move it.
        self.clock = clock
        self._key: SigningKey | None = None

    async def load_signing_key(self) -> SigningKey:
        async with self.db.session() as session:
            repo = AuthRepository(session)
            await repo.lock_signing_keys()
            rows = await repo.signing_keys()
            if not rows:
                key = SigningKey.generate()
                await repo.add(SigningKeyRow(kid=key.kid, private_pem=key.private_pem))
                rows = [SigningKeyRow(kid=key.kid, private_pem=key.private_pem)]
        newest = rows[-1]
        self._key = SigningKey(kid=newest.kid, private_pem=newest.private_pem)
        return self._key

    @property
    def key(self) -> SigningKey:
        assert self._key is not None, "load_signing_key() first"
        return self._key

    # sign-up and login
    async def signup(self, req: c.SignupRequest) -> c.User:
        email = req.email.lower()
        if self.settings.email_check_deliverability:
            reason = await asyncio.to_thread(undeliverable, email)
            if reason:
                raise ServiceError(ErrorCode.VALIDATION, f"email: {reason}", {"field": "email"})
        async with self.passwords.turn():
            password_hash = await self.passwords.hash(req.password)
        async with self.db.session() as session:
            repo = AuthRepository(session)
            username_taken, email_taken = await repo.username_or_email_taken(req.username, email)
            if username_taken or email_taken:
                field = "username" if username_taken else "email"
                raise ServiceError(
                    ErrorCode.CONFLICT, f"{field} is already taken", {"field": field}
                )
            user = User(
                username=req.username,
                email=email,
                display_name=req.display_name or req.username,
                password_hash=password_hash,
            )
            await repo.add(user)
            if req.invitation_token:
                _queue_invitation(session, user, req.invitation_token)
            return _user(user)

    async def login(self, req: c.LoginRequest) -> c.TokenPair:
        login = req.login.lower()
        now = self.clock()
        # The pair's lock, and so a database connection, is held until its password has been
        # checked: the turn is taken first, so a login waiting for a worker holds neither.
        async with self.passwords.turn(), self.db.session() as session:
            repo = AuthRepository(session)
            await repo.lock_login_pair(login, req.client)
            state = await repo.login_state(login, req.client, self._login_window_start(now))
            wait = await self._login_wait(repo, login, req.client, state, now)
            if not wait:
                user = await repo.user_by_login(login)
                stored = user.password_hash if user else None
                # Checked whether or not the login names someone (see Passwords.matches).
                if await self.passwords.matches(stored, req.password):
                    await repo.clear_login_pair(login, req.client)
                    return await self._issue(repo, user.id, family_id=uuid.uuid4())
                await self._record_login_failure(repo, login, req.client, state, now)
        # Raised after the block so what the throttle recorded is committed, not rolled back.
        if wait:
            raise ServiceError(
                ErrorCode.RATE_LIMITED,
                "too many failed logins; try again later",
                {"retry_after": math.ceil(wait * 1000) / 1000},
            )
        raise ServiceError(ErrorCode.INVALID_CREDENTIALS, INVALID_LOGIN)

    # login throttling: the whole rule, its numbers in the settings
    def _login_window_start(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.settings.login_window_seconds)

    async def _login_wait(
        self, repo: AuthRepository, login: str, client: str, state: LoginState, now: datetime
    ) -> float:
        """Seconds before this (login, client) attempt may be checked; 0 to check it now."""
        settings = self.settings
        if state.client_failures >= settings.login_max_failures_per_client:
            return settings.login_window_seconds
        if state.not_before is None:
            # A client new to an account under attack waits once, and its turn is kept, so
            # failures from elsewhere slow it but cannot keep postponing it.
            wait = self._account_delay(state.account_failures)
            if wait:
                not_before = now + timedelta(seconds=wait)
                await repo.save_login_pair(login, client, 0, not_before, now)
            return wait
        return max(0.0, (state.not_before - now).total_seconds())

    async def _record_login_failure(
        self, repo: AuthRepository, login: str, client: str, state: LoginState, now: datetime
    ) -> None:
        failures = state.failures + 1
        delay = max(self._pair_delay(failures), self._account_delay(state.account_failures + 1))
        await repo.save_login_pair(login, client, failures, now + timedelta(seconds=delay), now)
        await repo.prune_login_pairs(self._login_window_start(now))

    def _pair_delay(self, failures: int) -> float:
        settings = self.settings
        return _backoff(
            failures,
            settings.login_pair_free_failures,
            settings.login_first_delay_seconds,
            settings.login_pair_max_delay_seconds,
        )

    def _account_delay(self, failures: int) -> float:
        settings = self.settings
        return _backoff(
            failures,
            settings.login_account_free_failures,
            settings.login_first_delay_seconds,
            settings.login_account_max_delay_seconds,
        )

    async def _issue(
        self, repo: AuthRepository, user_id: uuid.UUID, family_id: uuid.UUID
    ) -> c.TokenPair:
        refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
        await repo.add(
            RefreshToken(
                user_id=user_id,
                family_id=family_id,
                token_hash=_hash_token(refresh),
                expires_at=_now() + timedelta(days=self.settings.refresh_token_ttl_days),
            )
        )
        return c.TokenPair(
            access_token=self.access_token(user_id, await self._platform_admin(repo, user_id)),
            refresh_token=refresh,
            expires_in=self.settings.access_token_ttl_seconds,
        )

    async def _platform_admin(self, repo: AuthRepository, user_id: uuid.UUID) -> bool:
        """Read at every issue, so a removal from AUTH_PLATFORM_ADMINS holds from the next
        access token on (at most access_token_ttl_seconds later)."""
        user = await repo.user_by_id(user_id)
        return user is not None and user.email.lower() in self.settings.platform_admin_emails

    def access_token(self, user_id: uuid.UUID, platform_admin: bool = False) -> str:
        now = _now()
        claims = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(user_id),
            "iat": int(now.timestamp()),
            "exp": int(now.timestamp()) + self.settings.access_token_ttl_seconds,
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        if platform_admin:
            claims[c.PLATFORM_ADMIN_CLAIM] = True
        return jwt.encode(
            claims, self.key.private_pem, algorithm=ALGORITHM, headers={"kid": self.key.kid}
        )

    # refresh tokens
    async def refresh(self, req: c.RefreshRequest) -> c.TokenPair:
        reused = False
        async with self.db.session() as session:
            repo = AuthRepository(session)
            row = await repo.refresh_token_for_update(_hash_token(req.refresh_token))
            now = _now()
            if row is not None and row.used_at is not None and row.revoked_at is None:
                # A rotated token came back: someone holds a copy. End the whole family.
                await repo.revoke_family(row.family_id, now)
                reused = True
            elif row is not None and row.revoked_at is None and row.expires_at > now:
                row.used_at = now
                return await self._issue(repo, row.user_id, row.family_id)
        if reused:
            log.warning("refresh token reuse detected; token family revoked")
        raise ServiceError(ErrorCode.INVALID_TOKEN, "refresh token is invalid, used or expired")

    async def logout(self, req: c.LogoutRequest) -> Ok:
        async with self.db.session() as session:
            repo = AuthRepository(session)
            row = await repo.refresh_token_for_update(_hash_token(req.refresh_token))
            if row is None or row.user_id != req.actor_id:
                raise ServiceError(ErrorCode.INVALID_TOKEN, "refresh token is invalid")
            await repo.revoke_family(row.family_id, _now())
        return Ok()

    # users
    async def me(self, user_id: uuid.UUID) -> c.User:
        async with self.db.session() as session:
            user = await AuthRepository(session).user_by_id(user_id)
        if user is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "user not found")
        return _user(user)

    async def lookup(self, login: str) -> c.UserLookupReply:
        async with self.db.session() as session:
            user = await AuthRepository(session).user_by_login(login)
        return c.UserLookupReply(user=_user(user) if user else None)

    async def get_many(self, ids: list[uuid.UUID]) -> c.UsersGetManyReply:
        async with self.db.session() as session:
            users = await AuthRepository(session).users_by_ids(ids)
        return c.UsersGetManyReply(users=[_user(u) for u in users])

    def jwks(self) -> c.Jwks:
        return c.Jwks(
            keys=[self.key.jwk()],
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
        )

    # API tokens
    async def create_api_token(self, req: c.ApiTokenCreateRequest) -> c.ApiTokenCreated:
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.db.session() as session:
            row = ApiToken(
                user_id=req.actor_id,
                name=req.name,
                prefix=token[: len(API_TOKEN_PREFIX) + 6],
                token_hash=_hash_token(token),
                expires_at=_now() + timedelta(days=req.expires_in_days),
            )
            await AuthRepository(session).add(row)
            return c.ApiTokenCreated(token=token, **c.ApiToken.model_validate(row).model_dump())

    async def list_api_tokens(self, req: c.ApiTokenListRequest) -> c.ApiTokenList:
        scope = pages.fingerprint("api-tokens", actor=req.actor_id)
        position = pages.decode(req.cursor, scope)
        async with self.db.session() as session:
            page = await AuthRepository(session).api_tokens_of(
                req.actor_id, _now(), position, req.limit
            )
        rows, next_cursor = pages.page(page, req.limit, scope, lambda r: (r.created_at, r.id))
        return c.ApiTokenList(
            tokens=[c.ApiToken.model_validate(r) for r in rows], next_cursor=next_cursor
        )

    async def revoke_api_token(self, req: c.ApiTokenRevokeRequest) -> Ok:
        async with self.db.session() as session:
            row = await AuthRepository(session).api_token(req.token_id, req.actor_id)
            if row is None or row.revoked_at is not None:
                raise ServiceError(ErrorCode.NOT_FOUND, "API token not found")
            row.revoked_at = _now()
        return Ok()

    async def resolve_api_token(self, token: str) -> c.ApiTokenResolveReply:
        async with self.db.session() as session:
            repo = AuthRepository(session)
            row = await repo.api_token_by_hash(_hash_token(token))
            now = _now()
            if row is None or row.revoked_at is not None or row.expires_at <= now:
                raise ServiceError(ErrorCode.INVALID_TOKEN, "API token is invalid")
            row.last_used_at = now
            return c.ApiTokenResolveReply(
                user_id=row.user_id,
                token_id=row.id,
                expires_at=row.expires_at,
                assertion=self.access_token(
                    row.user_id, await self._platform_admin(repo, row.user_id)
                ),
            )
