"""Dependency outages: what counts as one, waiting one out, and how the bus answers it."""

import logging
import time

import pytest
from nats.errors import NoRespondersError
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError

from pyk8s_contracts.common import Contract
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import Router, ServiceError, request, serve
from pyk8s_kit.db import Database
from pyk8s_kit.embedded import free_port
from pyk8s_kit.outages import is_outage, until_available
from pyk8s_kit.testing import HARNESS, wait_until_async


class Echo(Contract):
    text: str


def raised_from(cause: BaseException) -> RuntimeError:
    try:
        raise RuntimeError("wrapped") from cause
    except RuntimeError as error:
        return error


OUTAGES = [
    ConnectionRefusedError(111, "Connect call failed"),
    ConnectionResetError(),
    TimeoutError(),
    OSError("Multiple exceptions: [Errno 111], [Errno 99]"),
    NoRespondersError(),
    InterfaceError("SELECT 1", {}, Exception("connection is closed"), connection_invalidated=True),
    raised_from(ConnectionRefusedError()),
]
NOT_OUTAGES = [
    ValueError("bad input"),
    FileNotFoundError("kind"),
    PermissionError("docker.sock"),
    InterfaceError("SELECT 1", {}, Exception("bad statement")),
    raised_from(KeyError("x")),
]


@pytest.mark.parametrize("error", OUTAGES, ids=repr)
def test_unreachable_servers_are_outages(error):
    assert is_outage(error)


@pytest.mark.parametrize("error", NOT_OUTAGES, ids=repr)
def test_other_errors_are_not_outages(error):
    assert not is_outage(error)


async def test_until_available_retries_outages_with_a_logged_backoff(caplog):
    failures = [ConnectionRefusedError(), ConnectionRefusedError()]

    async def flaky() -> str:
        if failures:
            raise failures.pop()
        return "done"

    with caplog.at_level(logging.WARNING, "pyk8s_kit.outages"):
        assert await until_available("flaky step", flaky) == "done"
    assert caplog.text.count("flaky step: dependency unavailable") == 2


async def test_until_available_raises_other_errors_at_once():
    calls = []

    async def broken() -> None:
        calls.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        await until_available("broken step", broken)
    assert calls == [1]


@pytest.fixture
async def unreachable_database():
    """A database URL where nothing listens: every connection is refused, as when PostgreSQL
    is down."""
    db = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/gone")
    yield db
    await db.dispose()


async def test_a_database_outage_in_a_handler_is_unavailable_not_internal(
    nats_server, unreachable_database
):
    nc = await nats_server.connect(HARNESS)
    router = Router()

    @router.endpoint("test.db", Echo)
    async def query(req: Echo) -> Echo:
        async with unreachable_database.session() as session:
            await session.execute(text("SELECT 1"))
        return req

    async def nobody(token: str) -> None:
        return None

    service = await serve(nc, "test", "0.1.0", [router], nobody)
    try:
        with pytest.raises(ServiceError) as error:
            await request(nc, "test.db", Echo(text="hi"), Echo)
        assert error.value.code == ErrorCode.UNAVAILABLE
    finally:
        await service.stop()
        await nc.close()


async def test_a_disconnected_client_is_refused_at_once(nats_server):
    nc = await nats_server.connect(HARNESS)
    try:
        nats_server.stop()
        await wait_until_async(lambda: not nc.is_connected)
        started = time.monotonic()
        with pytest.raises(ServiceError) as error:
            await request(nc, "test.echo", Echo(text="hi"), Echo, timeout=5.0)
        assert error.value.code == ErrorCode.UNAVAILABLE
        assert time.monotonic() - started < 0.5
    finally:
        await nc.close()
