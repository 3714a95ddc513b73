"""Auth rules against a real PostgreSQL database, without NATS."""

import asyncio
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
from pyk8s_kit.testing import wait_until_async


@pytest.fixture
async def service(make_database, make_passwords):
    url = make_database("auth", MIGRATIONS)
    db = Database(url)
    settings = AuthSettings(environment="test", database_url=url)
    auth = AuthService(db, settings, await make_passwords(settings))
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


async def test_a_login_naming_nobody_checks_a_password_like_one_naming_someone(
    service, watch_hasher
):
    await signup(service)
    watched = watch_hasher(service.passwords)
    for login in ("ada", "nobody"):
        with pytest.raises(ServiceError) as refused:
            await service.login(c.LoginRequest(login=login, password="wrong horse"))
        assert refused.value.code == "invalid_credentials"
    assert len(watched.checked) == 2


async def test_a_login_waiting_for_a_worker_holds_no_database_connection(service, make_passwords):
    await signup(service)
    settings = service.settings.model_copy(update={"password_workers": 1})
    auth = AuthService(service.db, settings, await make_passwords(settings))
    await auth.load_signing_key()
    release = asyncio.Event()

    async def hold_the_worker() -> None:
        async with auth.passwords.turn():
            await release.wait()

    holding = asyncio.create_task(hold_the_worker())
    await wait_until_async(lambda: auth.passwords.expected_wait() > 0)
    waiting = auth.passwords.expected_wait()
    login = asyncio.create_task(auth.login(c.LoginRequest(login="ada", password="correct horse")))
    await wait_until_async(lambda: auth.passwords.expected_wait() > waiting)
    assert service.db.engine.pool.checkedout() == 0
    release.set()
    await holding
    assert (await login).access_token


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
    assert (await service.list_api_tokens(c.ApiTokenListRequest(actor_id=user.id))).tokens == []


async def test_replicas_share_one_signing_key(service):
    other = AuthService(service.db, service.settings, service.passwords)
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


def test_a_password_queue_longer_than_callers_wait_is_refused():
    with pytest.raises(ValueError):
        AuthSettings(password_queue_seconds=c.PASSWORD_REQUEST_TIMEOUT_SECONDS)


async def test_only_the_configured_platform_admins_tokens_carry_the_claim(service):
    from jose import jwt

    settings = service.settings.model_copy(update={"platform_admins": " Ada@Example.com ,x@y.z"})
    auth = AuthService(service.db, settings, service.passwords)
    await auth.load_signing_key()
    ada, bob = await signup(auth, "ada"), await signup(auth, "bob")

    def claim(token: str):
        return jwt.get_unverified_claims(token).get(c.PLATFORM_ADMIN_CLAIM)

    for user, expected in ((ada, True), (bob, None)):
        pair = await auth.login(c.LoginRequest(login=user.username, password="correct horse"))
        assert claim(pair.access_token) is expected
        refreshed = await auth.refresh(c.RefreshRequest(refresh_token=pair.refresh_token))
        assert claim(refreshed.access_token) is expected
        created = await auth.create_api_token(c.ApiTokenCreateRequest(actor_id=user.id, name="ci"))
        assert claim((await auth.resolve_api_token(created.token)).assertion) is expected
    # Taken off the list: the next token is an ordinary one.
    auth.settings = service.settings
    pair = await auth.login(c.LoginRequest(login="ada", password="correct horse"))
    assert claim(pair.access_token) is None


@pytest.mark.parametrize("email", ["someone@lab.local", "x@corp.test", "ops@home.arpa"])
async def test_addresses_on_internal_domains_sign_up(service, email):
    user = await service.signup(
        c.SignupRequest(username="lab", email=email, password="long enough")
    )
    assert user.email == email


def test_a_reserved_invalid_domain_is_still_refused():
    with pytest.raises(ValueError, match="special-use or reserved"):
        c.SignupRequest(username="lab", email="x@site.invalid", password="long enough")


async def test_deliverability_checks_when_set(service):
    settings = service.settings.model_copy(update={"email_check_deliverability": True})
    checking = AuthService(service.db, settings, service.passwords)
    with pytest.raises(ServiceError) as refused:
        await checking.signup(
            c.SignupRequest(username="lab", email="someone@lab.local", password="long enough")
        )
    assert refused.value.code == "validation_error"
    assert refused.value.message.startswith("email: The domain name lab.local does not")
    assert refused.value.detail == {"field": "email"}
