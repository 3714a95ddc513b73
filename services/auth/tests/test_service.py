"""Auth rules against a real PostgreSQL database, without NATS."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from pyk8s_auth.main import MIGRATIONS
from pyk8s_auth.models import ApiToken, RefreshToken, User
from pyk8s_auth.service import AuthService
from pyk8s_auth.settings import AuthSettings
from pyk8s_contracts import auth as c
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database


@pytest.fixture
async def service(make_database):
    url = make_database("auth", MIGRATIONS)
    db = Database(url)
    auth = AuthService(db, AuthSettings(environment="test", database_url=url))
    await auth.load_signing_key()
    yield auth
    await db.dispose()


async def signup(service: AuthService, name: str = "ada") -> c.User:
    return await service.signup(
        c.SignupRequest(username=name, email=f"{name}@example.com", password="correct horse")
    )


async def test_passwords_are_argon2id_with_owasp_parameters(service):
    user = await signup(service)
    async with service.db.session() as session:
        stored = await session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert "correct horse" not in stored


async def test_tokens_are_stored_hashed(service):
    await signup(service)
    pair = await service.login(c.LoginRequest(login="ada", password="correct horse"))
    created = await service.create_api_token(
        c.ApiTokenCreateRequest(actor_id=(await service.lookup("ada")).user.id, name="ci")
    )
    async with service.db.session() as session:
        refresh_hashes = (await session.scalars(select(RefreshToken.token_hash))).all()
        api_hashes = (await session.scalars(select(ApiToken.token_hash))).all()
    assert pair.refresh_token not in refresh_hashes and len(refresh_hashes) == 1
    assert created.token not in api_hashes and len(api_hashes) == 1


async def test_expired_refresh_token_is_refused(service):
    await signup(service)
    pair = await service.login(c.LoginRequest(login="ada", password="correct horse"))
    async with service.db.session() as session:
        await session.execute(
            update(RefreshToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with pytest.raises(ServiceError) as refused:
        await service.refresh(c.RefreshRequest(refresh_token=pair.refresh_token))
    assert refused.value.code == "invalid_token"


async def test_expired_api_token_is_refused(service):
    user = await signup(service)
    created = await service.create_api_token(c.ApiTokenCreateRequest(actor_id=user.id, name="ci"))
    async with service.db.session() as session:
        await session.execute(
            update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with pytest.raises(ServiceError):
        await service.resolve_api_token(created.token)
    assert (await service.list_api_tokens(user.id)).tokens == []


async def test_replicas_share_one_signing_key(service):
    other = AuthService(service.db, service.settings)
    assert (await other.load_signing_key()).kid == service.key.kid


async def test_access_token_lifetime_is_fifteen_minutes(service):
    from jose import jwt

    user = await signup(service)
    claims = jwt.get_unverified_claims(service.access_token(user.id))
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert claims["typ"] == "access" and claims["sub"] == str(user.id)


def test_weak_argon2_is_refused_outside_development():
    with pytest.raises(ValueError):
        AuthSettings(environment="production", argon2_memory_kib=1024)
