"""Login throttling against a real PostgreSQL database, on a clock the tests move."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pyk8s_auth.main import MIGRATIONS
from pyk8s_auth.service import AuthService
from pyk8s_auth.settings import AuthSettings
from pyk8s_contracts import auth as c
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database

PASSWORD = "correct horse"
WRONG = "wrong password"
OWNER = "198.51.100.7"
ATTACKER = "203.0.113.66"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def make_auth(make_database, make_passwords, clock):
    """`await make_auth(**settings)`: an auth service (a replica) on one shared database."""
    url = make_database("auth", MIGRATIONS)
    db = Database(url)

    async def make(**settings) -> AuthService:
        config = AuthSettings(environment="test", database_url=url, **settings)
        auth = AuthService(db, config, await make_passwords(config), clock)
        await auth.load_signing_key()
        return auth

    yield make
    await db.dispose()


@pytest.fixture
async def auth(make_auth) -> AuthService:
    auth = await make_auth()
    await auth.signup(c.SignupRequest(username="ada", email="ada@example.com", password=PASSWORD))
    return auth


async def attempt(
    auth: AuthService, login: str = "ada", password: str = WRONG, client: str = ATTACKER
) -> str | float:
    """ "ok", "invalid", or the seconds the throttle asks to wait before trying again."""
    try:
        await auth.login(c.LoginRequest(login=login, password=password, client=client))
    except ServiceError as error:
        if error.code == ErrorCode.RATE_LIMITED:
            return error.detail["retry_after"]
        assert error.code == ErrorCode.INVALID_CREDENTIALS
        return "invalid"
    return "ok"


async def waits_then(
    auth: AuthService, clock: Clock, login: str = "ada", password: str = WRONG, client=ATTACKER
) -> tuple[float, str]:
    """Try, wait as long as told if told to, try again: (the wait, the checked outcome)."""
    wait = await attempt(auth, login, password, client)
    if wait in ("ok", "invalid"):
        return 0.0, wait
    clock.advance(wait)
    return wait, await attempt(auth, login, password, client)


async def test_a_failing_pair_waits_exponentially_longer_up_to_a_cap(auth, clock):
    assert [await attempt(auth) for _ in range(3)] == ["invalid"] * 3
    waits = [await waits_then(auth, clock) for _ in range(11)]
    assert waits == [(wait, "invalid") for wait in (1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300)]


async def test_a_waiting_pair_is_not_checked_even_with_the_right_password(auth, clock):
    for _ in range(3):
        await attempt(auth)
    assert await attempt(auth, password=PASSWORD) == 1
    clock.advance(0.4)
    # Not checked, so not counted: the wait only runs down.
    assert await attempt(auth, password=PASSWORD) == 0.6
    clock.advance(0.6)
    assert await attempt(auth, password=PASSWORD) == "ok"


async def test_a_successful_login_clears_the_pair(auth, clock):
    for _ in range(4):
        await waits_then(auth, clock)
    assert await waits_then(auth, clock, password=PASSWORD) == (2, "ok")
    assert [await attempt(auth) for _ in range(3)] == ["invalid"] * 3
    assert await attempt(auth) == 1


async def test_an_attacker_elsewhere_does_not_stop_the_owner(auth, clock):
    for _ in range(20):
        assert (await waits_then(auth, clock))[1] == "invalid"
    assert await attempt(auth, password=PASSWORD, client=OWNER) == "ok"
    assert await attempt(auth, password=PASSWORD, client=ATTACKER) == 300


async def test_failures_from_many_clients_slow_every_client_but_never_lock(make_auth, clock):
    auth = await make_auth(login_account_free_failures=10, login_account_max_delay_seconds=30)
    for n in range(10):
        assert await attempt(auth, "ghost", client=f"10.0.0.{n}") == "invalid"
    # Each new client waits once, longer as the account's failures grow, at most the cap.
    waits = [await waits_then(auth, clock, "ghost", client=f"10.0.1.{n}") for n in range(7)]
    assert waits == [(wait, "invalid") for wait in (1, 2, 4, 8, 16, 30, 30)]
    await auth.signup(c.SignupRequest(username="ghost", email="g@example.com", password=PASSWORD))
    assert await attempt(auth, "ghost", PASSWORD, OWNER) == 30
    # Failures from elsewhere meanwhile do not postpone the owner's turn.
    clock.advance(29)
    assert await attempt(auth, "ghost", client="10.0.0.1") == "invalid"
    clock.advance(1)
    assert await attempt(auth, "ghost", PASSWORD, OWNER) == "ok"


async def test_one_client_failing_on_many_logins_is_refused_for_the_window(make_auth, clock):
    auth = await make_auth(login_max_failures_per_client=5)
    await auth.signup(c.SignupRequest(username="ada", email="ada@example.com", password=PASSWORD))
    for n in range(5):
        assert await attempt(auth, f"spray{n}") == "invalid"
    assert await attempt(auth, password=PASSWORD) == 900
    assert await attempt(auth, password=PASSWORD, client=OWNER) == "ok"
    clock.advance(900)
    assert await attempt(auth, password=PASSWORD) == "ok"


async def test_unknown_logins_are_throttled_like_known_ones(auth, clock):
    async def outcomes(login: str, client: str) -> list:
        tries = [await attempt(auth, login, client=client) for _ in range(5)]
        return tries + [await waits_then(auth, clock, login, client=client) for _ in range(2)]

    assert await outcomes("ada", ATTACKER) == await outcomes("nobody", OWNER)


async def test_replicas_share_the_throttle(auth, make_auth):
    for _ in range(3):
        await attempt(auth)
    other = await make_auth()
    assert await attempt(other, password=PASSWORD) == 1


async def test_concurrent_attempts_of_one_pair_take_turns(auth):
    outcomes = await asyncio.gather(*(attempt(auth) for _ in range(6)))
    assert sorted(outcomes, key=str) == [1, 1, 1, "invalid", "invalid", "invalid"]


async def test_concurrent_attempts_of_one_pair_on_two_replicas_take_turns(auth, make_auth):
    other = await make_auth()
    outcomes = await asyncio.gather(*(attempt(replica) for replica in [auth, other] * 3))
    assert sorted(outcomes, key=str) == [1, 1, 1, "invalid", "invalid", "invalid"]
