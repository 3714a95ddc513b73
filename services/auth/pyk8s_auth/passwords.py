"""Argon2 off the event loop: passwords are hashed and checked on worker threads, one per core,
taken in turns from a bounded queue that refuses at once what it could not start in time.

Threads, not processes: argon2-cffi's C calls release the GIL (measured: a Python loop on the
event loop's thread kept running, never paused longer than the scheduler's slices, through a
one-second hash on another thread), so threads use every core without copying passwords to
other processes, and share the process's memory instead of one interpreter per core."""

import asyncio
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ServiceError

from .settings import AuthSettings

T = TypeVar("T")

# How far one measured turn moves the estimate of the next: enough to follow the machine's
# load within a few turns, not so much that one slow turn refuses everybody.
SMOOTHING = 0.2


class Passwords:
    """`async with passwords.turn():` holds a worker; within it, `hash` and `matches` run
    there. A caller holds its turn for the whole unit of work that checks a password, so it
    waits for a worker before it takes a database connection, never while holding one."""

    def __init__(self, settings: AuthSettings) -> None:
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )
        self.workers = settings.password_workers
        self.max_wait = settings.password_queue_seconds
        self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="argon2")
        # One turn per worker, so a request holding a turn finds a thread free at once.
        self._turns = asyncio.Semaphore(self.workers)
        # Requests holding a turn or waiting for one.
        self._admitted = 0
        self._turn_seconds = 0.0
        self._dummy_hash = ""

    async def start(self) -> None:
        """Makes the hash checked when a login names nobody; how long that took is the first
        estimate of a turn."""
        started = time.monotonic()
        self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        self._turn_seconds = time.monotonic() - started

    async def stop(self) -> None:
        await asyncio.to_thread(self._threads.shutdown)

    def expected_wait(self) -> float:
        """Seconds a request admitted now would wait for its turn: those ahead of it, taken
        `workers` at a time, each batch as long as turns recently took."""
        ahead = self._admitted - self.workers + 1
        if ahead <= 0:
            return 0.0
        return math.ceil(ahead / self.workers) * self._turn_seconds

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Waits for a worker and holds it for the block; refused at once, with
        `service_unavailable` and `retry_after`, when the wait would exceed the limit."""
        wait = self.expected_wait()
        if wait > self.max_wait:
            raise ServiceError(
                ErrorCode.UNAVAILABLE,
                "too many sign-ins at once; try again shortly",
                {"retry_after": math.ceil(wait)},
            )
        self._admitted += 1
        try:
            async with self._turns:
                started = time.monotonic()
                try:
                    yield
                finally:
                    self._learn(time.monotonic() - started)
        finally:
            self._admitted -= 1

    def _learn(self, seconds: float) -> None:
        self._turn_seconds += SMOOTHING * (seconds - self._turn_seconds)

    async def hash(self, password: str) -> str:
        return await self._on_worker(self.hasher.hash, password)

    async def matches(self, stored: str | None, password: str) -> bool:
        """Whether `password` is the one `stored` was made from. Without a stored hash (the
        login names nobody) one is checked all the same, so both answers take as long."""
        try:
            await self._on_worker(self.hasher.verify, stored or self._dummy_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        return stored is not None

    async def _on_worker(self, work: Callable[..., T], *args: str) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, work, *args)
