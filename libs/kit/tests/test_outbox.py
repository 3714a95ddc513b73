"""The transactional outbox publishes committed events once, and nothing rolled back."""

import asyncio
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import DeclarativeBase

from pyk8s_contracts.events import CloudEvent
from pyk8s_kit.db import Database, make_metadata
from pyk8s_kit.outbox import OutboxMixin, OutboxRelay, add_event
from pyk8s_kit.testing import HARNESS, wait_until_async


class Base(DeclarativeBase):
    metadata = make_metadata()


class OutboxEvent(OutboxMixin, Base):
    pass


@pytest.fixture
async def setup(embedded_pg, nats_server):
    name = f"outbox_{uuid.uuid4().hex[:8]}"
    embedded_pg.psql(f'CREATE DATABASE "{name}"')
    db = Database(embedded_pg.url(name))
    async with db.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    nc = await nats_server.connect(HARNESS)
    js = nc.jetstream()
    await js.add_stream(name="TEST", subjects=["test.>"], duplicate_window=300)
    yield db, js
    await nc.close()
    await db.dispose()


def event(n: int) -> CloudEvent:
    return CloudEvent(source="/tests", type="io.pyk8s.test.happened", data={"n": n})


async def stream_count(js) -> int:
    return (await js.stream_info("TEST")).state.messages


async def test_committed_events_are_published_and_rolled_back_ones_are_not(setup):
    db, js = setup
    relay = OutboxRelay(db, OutboxEvent, js, interval=0.05)
    relay.start()
    try:
        async with db.session() as session:
            add_event(session, OutboxEvent, "test.happened", event(1))
        with pytest.raises(RuntimeError):
            async with db.session() as session:
                add_event(session, OutboxEvent, "test.happened", event(2))
                raise RuntimeError("the change failed")
        await wait_until_async(lambda: stream_count(js), timeout=5)
        async with db.session() as session:
            assert await session.scalar(select(func.count()).select_from(OutboxEvent)) == 0
        assert await stream_count(js) == 1
    finally:
        await relay.stop()


async def test_republishing_after_a_crash_does_not_duplicate(setup):
    db, js = setup
    same = event(3)
    # A relay that published but died before deleting its rows publishes them again later.
    await js.publish(
        "test.happened",
        same.model_dump_json().encode(),
        headers={"Nats-Msg-Id": same.id},
    )
    async with db.session() as session:
        add_event(session, OutboxEvent, "test.happened", same)
    relay = OutboxRelay(db, OutboxEvent, js)
    assert await relay.publish_batch() == 1
    assert await stream_count(js) == 1


async def test_events_of_one_transaction_keep_their_order(setup):
    db, js = setup
    async with db.session() as session:
        for n in range(20):
            add_event(session, OutboxEvent, "test.happened", event(n))
    assert await OutboxRelay(db, OutboxEvent, js).publish_batch() == 20
    sub = await js.subscribe("test.happened", ordered_consumer=True)
    seen = [
        CloudEvent.model_validate_json((await sub.next_msg(2)).data).data["n"] for _ in range(20)
    ]
    assert seen == list(range(20))


async def test_relays_of_two_replicas_publish_in_the_order_written(setup):
    db, js = setup
    async with db.session() as session:
        for n in range(60):
            add_event(session, OutboxEvent, "test.happened", event(n))
    replicas = [OutboxRelay(db, OutboxEvent, js) for _ in range(2)]
    # Both at once, small batches: each batch waits for the one before it to finish.
    while sum(await asyncio.gather(*(relay.publish_batch(size=7) for relay in replicas))):
        pass
    sub = await js.subscribe("test.happened", ordered_consumer=True)
    seen = [
        CloudEvent.model_validate_json((await sub.next_msg(2)).data).data["n"] for _ in range(60)
    ]
    assert seen == list(range(60))
    assert await stream_count(js) == 60
