"""Terminal rules against a real PostgreSQL database: tickets are single-use under
concurrency, expire, are stored hashed; session limits hold when openings race; two replicas
closing the same dead replica's sessions close and announce each once."""

import asyncio
import hashlib
import json
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from nats.errors import NoRespondersError
from sqlalchemy import func, select, update

from pyk8s_contracts import subjects
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database
from pyk8s_terminal.bridge import SessionInfo, marker
from pyk8s_terminal.docker import Docker
from pyk8s_terminal.main import MIGRATIONS
from pyk8s_terminal.models import OutboxEvent, TerminalSession, Ticket
from pyk8s_terminal.repository import TerminalRepository
from pyk8s_terminal.service import TerminalService, _now, hash_ticket
from pyk8s_terminal.settings import TerminalSettings


@pytest.fixture
async def service(make_database):
    url = make_database("terminal", MIGRATIONS)
    db = Database(url, pool_size=10)
    settings = TerminalSettings(
        environment="test", database_url=url, max_sessions_per_user=3, max_sessions_per_cluster=4
    )
    # No NATS and no Docker: these tests stay with tickets and the session table.
    yield TerminalService(db, nc=None, engines=None, settings=settings)
    await db.dispose()


async def new_ticket(service, user_id=None, cluster_id=None) -> str:
    ticket = await service.issue_ticket(user_id or uuid.uuid4(), cluster_id or uuid.uuid4())
    return ticket.ticket


async def redeem(service, ticket: str) -> Ticket | None:
    async with service.db.session() as session:
        return await TerminalRepository(session).redeem_ticket(hash_ticket(ticket), _now())


async def test_a_ticket_opens_once_even_when_redeemed_concurrently(service):
    ticket = await new_ticket(service)
    results = await asyncio.gather(*(redeem(service, ticket) for _ in range(10)))
    assert sum(r is not None for r in results) == 1


async def test_an_expired_ticket_is_not_redeemed(service):
    ticket = await new_ticket(service)
    async with service.db.session() as session:
        await session.execute(update(Ticket).values(expires_at=func.now()))
    assert await redeem(service, ticket) is None


async def test_only_the_hash_is_stored(service):
    ticket = await new_ticket(service)
    async with service.db.session() as session:
        stored = (await session.scalars(select(Ticket.token_hash))).all()
    assert stored == [hashlib.sha256(ticket.encode()).hexdigest()]
    assert len(ticket) >= 43  # 32 random bytes, url-safe base64


async def test_unknown_ticket_is_refused_before_anything_else(service):
    from pyk8s_contracts.terminal import SessionOpenRequest

    with pytest.raises(ServiceError) as refused:
        await service.open(
            SessionOpenRequest(
                session_id=uuid.uuid4(), cluster_id=uuid.uuid4(), ticket="not-a-ticket"
            )
        )
    assert refused.value.code == ErrorCode.INVALID_TOKEN


async def test_session_limits_hold_when_openings_race(service):
    user, cluster = uuid.uuid4(), uuid.uuid4()

    async def open_one() -> bool:
        info = SessionInfo(
            id=uuid.uuid4(),
            user_id=user,
            cluster_id=cluster,
            team_id=None,
            owner_id=user,
            container="node",
        )
        try:
            await service._record_open(info)
            return True
        except ServiceError as error:
            assert error.code == ErrorCode.QUOTA_EXCEEDED
            return False

    opened = await asyncio.gather(*(open_one() for _ in range(8)))
    assert sum(opened) == 3
    async with service.db.session() as session:
        assert await session.scalar(select(func.count()).select_from(TerminalSession)) == 3
        # Each opening wrote its `opened` event in the same transaction.
        assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 3


class EnginesDouble:
    """Test double of the hosts' Docker engines: records whose leftover processes are killed."""

    def __init__(self) -> None:
        self.killed: list[str] = []

    def for_host(self, host_id, docker_host) -> "EnginesDouble":
        return self

    async def kill_marked(self, container: str, session_marker: str) -> None:
        self.killed.append(session_marker)


class NobodyServesDouble:
    """Test double of the NATS client for a bus on which no replica serves any session."""

    async def request(self, *args, **kwargs):
        raise NoRespondersError


@pytest.fixture
async def two_replicas(make_database):
    """Two terminal replicas on one database, each with its own connection pool, serving no
    session: every open session in the table belongs to a replica that died."""
    url = make_database("terminal", MIGRATIONS)
    settings = TerminalSettings(environment="test", database_url=url, recheck_interval_seconds=1)
    made = []
    for _ in range(2):
        db = Database(url, pool_size=5)
        made.append(TerminalService(db, NobodyServesDouble(), EnginesDouble(), settings))
    yield made
    for replica in made:
        await replica.db.dispose()


async def test_two_replicas_close_a_dead_replicas_sessions_once(two_replicas):
    """Both replicas run both clean-ups at the same moment, round after round: the stale
    heartbeat sweep and the start-up close of sessions nobody serves. Each session is closed,
    announced and swept once."""
    sessions = []
    for _ in range(5):
        stale = _now() - timedelta(minutes=5)
        rows = [
            TerminalSession(
                id=uuid.uuid4(),
                user_id=uuid.uuid4(),
                cluster_id=uuid.uuid4(),
                container="node",
                started_at=stale,
                heartbeat_at=stale,
            )
            for _ in range(20)
        ]
        async with two_replicas[0].db.session() as session:
            session.add_all(rows)
        sessions += [row.id for row in rows]
        await asyncio.gather(
            *(replica.heartbeat() for replica in two_replicas),
            *(replica.end_unserved() for replica in two_replicas),
        )

    async with two_replicas[0].db.session() as session:
        open_left = await session.scalar(
            select(func.count()).where(TerminalSession.ended_at.is_(None))
        )
        closed = (
            await session.scalars(
                select(OutboxEvent.payload).where(
                    OutboxEvent.subject == subjects.event_subject("terminal", "closed")
                )
            )
        ).all()
    assert open_left == 0
    announced = Counter(json.loads(payload)["subject"] for payload in closed)
    assert announced == Counter({str(session_id): 1 for session_id in sessions})
    swept = Counter(marker for replica in two_replicas for marker in replica.engines.killed)
    assert swept == Counter({marker(session_id): 1 for session_id in sessions})


async def test_readiness_includes_the_docker_engine(make_database, nats_server):
    from pyk8s_terminal.main import start

    url = make_database("terminal", MIGRATIONS)
    runtime = await start(
        TerminalSettings(
            environment="test",
            database_url=url,
            nats_url=nats_server.url,
            nats_credentials=str(nats_server.seeds["terminal"]),
        )
    )
    try:
        assert await runtime.readiness() == {
            "started": True,
            "nats": True,
            "database": True,
            "docker": True,
        }
        engines = runtime.service.engines
        real, engines.default = engines.default, Docker("/nonexistent.sock", "1.41")
        assert (await runtime.readiness())["docker"] is False
        await engines.default.close()
        engines.default = real
    finally:
        await runtime.stop()
