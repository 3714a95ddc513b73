"""The password pool: argon2 on worker threads, taken in turns from a bounded queue."""

import asyncio
import threading

from argon2 import extract_parameters

from pyk8s_auth.settings import AuthSettings
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.testing import wait_until_async


def settings(**overrides) -> AuthSettings:
    return AuthSettings(environment="test", **overrides)


async def test_passwords_are_hashed_off_the_event_loop_on_every_worker_at_once(
    make_passwords, watch_hasher
):
    passwords = await make_passwords(settings(password_workers=2))
    # Each hash waits for the other to have started: both end only if they run at once on
    # two threads; on the event loop's thread the first would wait forever (here 30 s).
    watched = watch_hasher(passwords, meet=threading.Barrier(2, timeout=30))
    hashes = await asyncio.gather(passwords.hash("first one"), passwords.hash("second one"))
    assert len(watched.threads) == 2 and threading.get_ident() not in watched.threads
    assert await passwords.matches(hashes[0], "first one")


async def test_a_login_naming_nobody_checks_a_hash_made_like_the_others(
    make_passwords, watch_hasher
):
    passwords = await make_passwords(settings())
    stored = await passwords.hash("correct horse")
    watched = watch_hasher(passwords)
    assert await passwords.matches(stored, "correct horse") is True
    assert await passwords.matches(stored, "wrong horse") is False
    assert await passwords.matches(None, "correct horse") is False
    # Three checks, the last against a stand-in that costs the same as a real hash.
    assert len(watched.checked) == 3
    assert extract_parameters(watched.checked[2]) == extract_parameters(stored)


async def test_a_request_that_would_wait_too_long_is_refused_at_once(make_passwords):
    passwords = await make_passwords(settings(password_workers=1, password_queue_seconds=0.5))
    release = asyncio.Event()

    async def hold_a_turn() -> None:
        async with passwords.turn():
            await release.wait()

    async def arrive() -> asyncio.Task:
        """One more request: admitted (the expected wait grows) or refused (done)."""
        before = passwords.expected_wait()
        task = asyncio.create_task(hold_a_turn())
        await wait_until_async(lambda: task.done() or passwords.expected_wait() > before)
        return task

    admitted = [await arrive()]
    while not admitted[-1].done():
        assert len(admitted) < 1000, "never refused"
        admitted.append(await arrive())
    refused = admitted.pop().exception()
    assert isinstance(refused, ServiceError) and refused.code == ErrorCode.UNAVAILABLE
    assert refused.detail["retry_after"] >= 0.5
    # Everyone admitted gets a turn; then the queue takes newcomers again.
    release.set()
    await asyncio.gather(*admitted)
    async with passwords.turn():
        assert passwords.expected_wait() < 0.5
