"""The access-token verifier remembers tokens it verified, until they expire."""

import uuid

import pytest

from pyk8s_kit import actors
from pyk8s_kit.bus import Actor


class CountingVerifier(actors.AccessTokenVerifier):
    """Signature checks replaced by a count, to see which calls reach them."""

    def __init__(self, expires: float) -> None:
        super().__init__(nc=None)
        self.checks = 0
        self.expires = expires
        self.user = uuid.uuid4()

    async def _verify(self, token: str) -> tuple[Actor, float]:
        self.checks += 1
        return Actor(self.user, False), self.expires


async def test_a_verified_token_is_checked_once_until_it_expires(monkeypatch):
    verifier = CountingVerifier(expires=1000.0)
    monkeypatch.setattr(actors.time, "time", lambda: 999.0)
    assert await verifier.user_id("t") == verifier.user
    assert await verifier.user_id("t") == verifier.user
    assert verifier.checks == 1
    monkeypatch.setattr(actors.time, "time", lambda: 1000.0)
    await verifier.user_id("t")
    assert verifier.checks == 2


async def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(actors, "VERIFIED_TOKENS_KEPT", 3)
    monkeypatch.setattr(actors.time, "time", lambda: 0.0)
    verifier = CountingVerifier(expires=1000.0)
    for token in ("a", "b", "c", "d"):
        await verifier.user_id(token)
    await verifier.user_id("a")  # forgotten: the oldest went when "d" came
    await verifier.user_id("d")
    assert verifier.checks == 5


async def test_a_refused_token_is_not_remembered():
    class Refusing(CountingVerifier):
        async def _verify(self, token: str):
            self.checks += 1
            raise actors.InvalidToken("bad signature")

    verifier = Refusing(expires=1000.0)
    for _ in range(2):
        with pytest.raises(actors.InvalidToken):
            await verifier.user_id("t")
    assert verifier.checks == 2
