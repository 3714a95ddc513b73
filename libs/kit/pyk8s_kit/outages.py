"""Dependency outages: which errors mean PostgreSQL or NATS cannot be reached right now, and
waiting one out at start-up. An outage is answered with 503 and Retry-After, never a 500."""

import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from nats.errors import ConnectionClosedError, NoRespondersError, OutboundBufferLimitError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from tenacity import AsyncRetrying, retry_if_exception, wait_exponential_jitter

log = logging.getLogger(__name__)

# What a 503 tells clients to wait before trying again.
RETRY_AFTER_SECONDS = 2

T = TypeVar("T")

# TimeoutError includes asyncio's and nats-py's. File errors (OSError subclasses too) are not
# outages; a plain OSError is how sockets report unreachable hosts and networks.
_UNREACHABLE = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    PoolTimeout,
    asyncpg.PostgresConnectionError,
    # The server closed the connection during a statement (Database.fetch_one meets it as is).
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    NoRespondersError,
    ConnectionClosedError,
    OutboundBufferLimitError,
)


def is_outage(error: BaseException | None) -> bool:
    """True when `error`, or an error it was raised from, says a database or the message bus
    cannot be reached: worth a retry, not a bug."""
    while error is not None:
        if isinstance(error, _UNREACHABLE) or type(error) is OSError:
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        error = error.__cause__
    return False


def _log_retry(what: str) -> Callable:
    def log_it(state) -> None:
        log.warning(
            "%s: dependency unavailable (%s), retrying in %.1fs (attempt %d)",
            what,
            state.outcome.exception(),
            state.next_action.sleep,
            state.attempt_number,
        )

    return log_it


async def until_available(
    what: str, operation: Callable[[], Awaitable[T]], max_wait: float = 5.0
) -> T:
    """Run `operation`, retrying with exponential backoff (0.2 s doubling, at most `max_wait`)
    for as long as it fails with an outage; any other error is raised at once."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(is_outage),
        wait=wait_exponential_jitter(multiplier=0.2, max=max_wait, jitter=0.2),
        before_sleep=_log_retry(what),
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await operation()
