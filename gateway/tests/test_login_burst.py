"""200 people signing in at once through the gateway, against the real services with argon2 at
the production parameters (OWASP: m=19 MiB, t=2): everyone gets in, nobody waits out a
timeout, and `/auth/me` keeps being answered meanwhile. bench/logins.py measures how fast.

On two idle cores the 200 logins are checked within the auth service's queue limit and all
answer 200 at once. On a machine busy with more (the whole test suite beside this test), the
queue refuses at once the logins it expects to wait too long, with 503 and Retry-After: those
come back when told, as a client should, and get in then."""

import asyncio
import uuid

import httpx
from argon2 import PasswordHasher

from conftest import Person, Platform
from pyk8s_auth.models import User
from pyk8s_auth.settings import AuthSettings

BURST = 200
PASSWORD = "correct horse battery"
TRIES = 5


def add_accounts(platform: Platform) -> list[str]:
    """BURST accounts sharing one password, written straight to the auth database: the test is
    about the logins, not BURST sign-ups."""
    production = AuthSettings()
    stored = PasswordHasher(
        time_cost=production.argon2_time_cost,
        memory_cost=production.argon2_memory_kib,
        parallelism=production.argon2_parallelism,
    ).hash(PASSWORD)
    names = [f"burst{n}-{uuid.uuid4().hex[:6]}" for n in range(BURST)]

    async def add() -> None:
        async with platform.runtimes["auth"].db.session() as session:
            session.add_all(
                User(username=n, email=f"{n}@example.com", display_name=n, password_hash=stored)
                for n in names
            )

    platform.run(add())
    return names


async def sign_in(http: httpx.AsyncClient, name: str) -> list[httpx.Response]:
    """Every answer to one person's logins, until one is not the queue's 503."""
    answers = []
    for _ in range(TRIES):
        answer = await http.post("/auth/login", json={"login": name, "password": PASSWORD})
        answers.append(answer)
        if answer.status_code != 503 or "Retry-After" not in answer.headers:
            break
        # The client's side of the protocol: back when the service said, not before.
        await asyncio.sleep(int(answer.headers["Retry-After"]))
    return answers


async def burst(
    platform: Platform, names: list[str], me: dict
) -> tuple[list[list[httpx.Response]], list[int]]:
    """The answers to each person's logins, and the statuses of /auth/me asked one after
    another until everyone is in."""
    limits = httpx.Limits(max_connections=BURST + 1)
    # trust_env=False: straight to the platform on loopback, whatever proxy the machine names.
    async with httpx.AsyncClient(
        base_url=f"{platform.url}/api/v1", timeout=60, limits=limits, trust_env=False
    ) as http:
        logins = asyncio.gather(*(sign_in(http, name) for name in names))
        me_answers = []
        while not logins.done():
            me_answers.append((await http.get("/auth/me", headers=me)).status_code)
        return await logins, me_answers


def test_two_hundred_people_signing_in_at_once_all_get_in(platform, api):
    names = add_accounts(platform)
    observer = Person(api, password=PASSWORD)
    logins, me_answers = asyncio.run(burst(platform, names, observer.headers))
    assert [answers[-1].status_code for answers in logins] == [200] * BURST
    # Any login turned away was turned away at once by the queue, told when to come back;
    # none waited out the gateway's timeout ("auth.login timed out").
    turned_away = [answer.json() for answers in logins for answer in answers[:-1]]
    assert all(
        body["detail"] == "too many sign-ins at once; try again shortly" for body in turned_away
    )
    # Asked over and over while the logins were being checked, and answered every time.
    assert len(me_answers) >= 5 and set(me_answers) == {200}
