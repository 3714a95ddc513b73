"""The session scopes: reads without a transaction, and pooled connections checked before use
only when they have been idle (a busy pool skips the round trip)."""

import uuid

import pytest
from sqlalchemy import String, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pyk8s_kit import db as kit_db
from pyk8s_kit.db import Database, make_metadata


class Base(DeclarativeBase):
    metadata = make_metadata()


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    text: Mapped[str] = mapped_column(String(50))


@pytest.fixture
async def database(embedded_pg):
    name = f"kitdb_{uuid.uuid4().hex[:8]}"
    embedded_pg.psql(f'CREATE DATABASE "{name}"')
    database = Database(embedded_pg.url(name), pool_size=1)
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield database
    await database.dispose()


async def backend_pid(database: Database, scope) -> int:
    async with scope() as session:
        return (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def transaction_ids(scope) -> set[int]:
    """Each statement's transaction: one for all in a transaction, one each outside."""
    async with scope() as session:
        return {(await session.execute(text("SELECT txid_current()"))).scalar_one() for _ in "ab"}


async def test_a_reading_session_runs_outside_a_transaction(database):
    assert len(await transaction_ids(database.reading)) == 2
    assert len(await transaction_ids(database.session)) == 1


async def test_a_reading_session_refuses_writes(database):
    with pytest.raises(RuntimeError, match="may not write"):
        async with database.reading() as session:
            session.add(Note(text="kept?"))
            await session.flush()
    async with database.reading() as session:
        assert (await session.execute(select(Note))).all() == []


async def test_a_connection_dropped_while_idle_is_replaced_unseen(
    database, embedded_pg, monkeypatch
):
    first = await backend_pid(database, database.session)
    embedded_pg.psql(f"SELECT pg_terminate_backend({first})")
    monkeypatch.setattr(kit_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    second = await backend_pid(database, database.session)
    assert second != first


async def test_a_busy_connection_is_not_pinged(database, monkeypatch):
    pings = []
    original = database.engine.dialect.do_ping
    monkeypatch.setattr(
        database.engine.dialect, "do_ping", lambda c: pings.append(1) or original(c)
    )
    for _ in range(3):
        await backend_pid(database, database.reading)
    assert pings == []
    monkeypatch.setattr(kit_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    await backend_pid(database, database.reading)
    assert pings == [1]
