"""Fixtures of the auth service's tests."""

import threading

import pytest
from argon2 import PasswordHasher

from pyk8s_auth.passwords import Passwords
from pyk8s_auth.settings import AuthSettings


@pytest.fixture
async def make_passwords():
    """`await make_passwords(settings)`: a started password pool, stopped after the test."""
    made: list[Passwords] = []

    async def make(settings: AuthSettings) -> Passwords:
        passwords = Passwords(settings)
        await passwords.start()
        made.append(passwords)
        return passwords

    yield make
    for passwords in made:
        await passwords.stop()


class WatchedHasher:
    """Passes hashing and checking on to a real argon2 hasher, noting on which threads it
    hashed and which hashes it checked; `meet`, a barrier every hash waits at first."""

    def __init__(self, real: PasswordHasher, meet: threading.Barrier | None = None) -> None:
        self.real = real
        self.meet = meet
        self.threads: set[int] = set()
        self.checked: list[str] = []

    def hash(self, password: str) -> str:
        self.threads.add(threading.get_ident())
        if self.meet:
            self.meet.wait()
        return self.real.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        self.checked.append(stored)
        return self.real.verify(stored, password)


@pytest.fixture
def watch_hasher(monkeypatch):
    """`watch_hasher(passwords, meet=None)`: a WatchedHasher put in the pool's place."""

    def watch(passwords: Passwords, meet: threading.Barrier | None = None) -> WatchedHasher:
        watched = WatchedHasher(passwords.hasher, meet)
        monkeypatch.setattr(passwords, "hasher", watched)
        return watched

    return watch
