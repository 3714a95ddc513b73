"""All SQL of the auth service."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pyk8s_kit import pages

from .models import ApiToken, LoginPair, RefreshToken, SigningKey, User


@dataclass(frozen=True)
class LoginState:
    """What login throttling knows about one (login, client) pair when it tries again."""

    failures: int
    # None when the pair has never been told to wait (or has been quiet for the window).
    not_before: datetime | None
    account_failures: int
    client_failures: int


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # users
    async def user_by_login(self, login: str) -> User | None:
        login = login.lower()
        return await self.session.scalar(
            select(User).where(or_(User.username == login, User.email == login))
        )

    async def user_by_id(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def users_by_ids(self, ids: list[uuid.UUID]) -> list[User]:
        return list((await self.session.scalars(select(User).where(User.id.in_(ids)))).all())

    async def username_or_email_taken(self, username: str, email: str) -> tuple[bool, bool]:
        rows = (
            await self.session.execute(
                select(User.username, User.email).where(
                    or_(User.username == username, User.email == email)
                )
            )
        ).all()
        return any(r.username == username for r in rows), any(r.email == email for r in rows)

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    # refresh tokens
    async def refresh_token_for_update(self, token_hash: str) -> RefreshToken | None:
        return await self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        )

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    # API tokens
    async def api_tokens_of(
        self, user_id: uuid.UUID, now: datetime, position: pages.Position | None, limit: int
    ) -> list[ApiToken]:
        """A page of the user's usable API tokens, newest first."""
        query = select(ApiToken).where(
            ApiToken.user_id == user_id,
            ApiToken.revoked_at.is_(None),
            ApiToken.expires_at > now,
        )
        query = pages.keyset(query, ApiToken.created_at, ApiToken.id, position, limit)
        return list((await self.session.scalars(query)).all())

    async def api_token(self, token_id: uuid.UUID, user_id: uuid.UUID) -> ApiToken | None:
        return await self.session.scalar(
            select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
        )

    async def api_token_by_hash(self, token_hash: str) -> ApiToken | None:
        return await self.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))

    # signing keys
    async def signing_keys(self) -> list[SigningKey]:
        return list(
            (await self.session.scalars(select(SigningKey).order_by(SigningKey.created_at))).all()
        )

    async def lock_signing_keys(self) -> None:
        # Replicas starting together must agree on one key.
        await self.session.execute(text("SELECT pg_advisory_xact_lock(4242001)"))

    # login throttling
    async def lock_login_pair(self, login: str, client: str) -> None:
        # Attempts of one pair take turns, across replicas, so each sees the previous outcome.
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(4242002, hashtext(:pair))"),
            {"pair": f"{login}\n{client}"},
        )

    async def login_state(self, login: str, client: str, since: datetime) -> LoginState:
        """Failures since `since` of the pair, of the login from any client and of the client
        on any login, and when the pair may next be checked."""
        pair = await self.session.scalar(
            select(LoginPair).where(
                LoginPair.login == login, LoginPair.client == client, LoginPair.changed_at > since
            )
        )
        totals = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(LoginPair.failures).filter(LoginPair.login == login), 0),
                    func.coalesce(
                        func.sum(LoginPair.failures).filter(LoginPair.client == client), 0
                    ),
                ).where(
                    or_(LoginPair.login == login, LoginPair.client == client),
                    LoginPair.changed_at > since,
                )
            )
        ).one()
        return LoginState(
            failures=pair.failures if pair else 0,
            not_before=pair.not_before if pair else None,
            account_failures=totals[0],
            client_failures=totals[1],
        )

    async def save_login_pair(
        self, login: str, client: str, failures: int, not_before: datetime, now: datetime
    ) -> None:
        values = {"failures": failures, "not_before": not_before, "changed_at": now}
        await self.session.execute(
            insert(LoginPair)
            .values(login=login, client=client, **values)
            .on_conflict_do_update(index_elements=["login", "client"], set_=values)
        )

    async def clear_login_pair(self, login: str, client: str) -> None:
        await self.session.execute(
            delete(LoginPair).where(LoginPair.login == login, LoginPair.client == client)
        )

    async def prune_login_pairs(self, before: datetime) -> None:
        await self.session.execute(delete(LoginPair).where(LoginPair.changed_at <= before))
