"""All SQL of the auth service."""

import uuid
from datetime import datetime

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import ApiToken, LoginFailure, RefreshToken, SigningKey, User


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
    async def api_tokens_of(self, user_id: uuid.UUID, now: datetime) -> list[ApiToken]:
        return list(
            (
                await self.session.scalars(
                    select(ApiToken)
                    .where(
                        ApiToken.user_id == user_id,
                        ApiToken.revoked_at.is_(None),
                        ApiToken.expires_at > now,
                    )
                    .order_by(ApiToken.created_at)
                )
            ).all()
        )

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
    async def failures_since(self, keys: list[str], since: datetime) -> dict[str, int]:
        rows = (
            await self.session.execute(
                select(LoginFailure.key, func.count())
                .where(LoginFailure.key.in_(keys), LoginFailure.at > since)
                .group_by(LoginFailure.key)
            )
        ).all()
        return {key: count for key, count in rows}

    async def record_failures(self, keys: list[str]) -> None:
        self.session.add_all([LoginFailure(key=key) for key in keys])

    async def clear_failures(self, key: str) -> None:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.key == key))

    async def prune_failures(self, before: datetime) -> None:
        await self.session.execute(delete(LoginFailure).where(LoginFailure.at < before))
