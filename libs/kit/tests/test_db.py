"""The session scopes: reads without a transaction, pooled connections checked before use
only when they have been idle (a busy pool skips the round trip), and hot reads straight on the
driver (`Query`, `Database.fetch_one`)."""

import asyncio
import uuid

import pytest
from sqlalchemy import Float, String, bindparam, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pyk8s_kit import db as kit_db
from pyk8s_kit.db import Database, make_metadata
from pyk8s_kit.outages import is_outage
from pyk8s_kit.testing import wait_until_async


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


NOTE_TEXT = kit_db.Query(select(Note.text).where(Note.id == bindparam("note_id")))


async def test_a_query_is_compiled_once_to_postgresql_parameters():
    assert "$1" in NOTE_TEXT.sql
    assert NOTE_TEXT.arguments({"note_id": 7}) == [7]
    with pytest.raises(TypeError, match="note_id"):
        NOTE_TEXT.arguments({})


async def test_fetch_one_reads_a_row_or_none(database):
    note = Note(text="kept")
    async with database.session() as session:
        session.add(note)
    row = await database.fetch_one(NOTE_TEXT, note_id=note.id)
    assert row["text"] == "kept"
    assert await database.fetch_one(NOTE_TEXT, note_id=uuid.uuid4()) is None


async def test_a_connection_broken_during_fetch_one_is_an_outage_and_discarded(
    database, embedded_pg
):
    pid = await backend_pid(database, database.reading)
    sleeper = kit_db.Query(select(func.pg_sleep(bindparam("seconds", type_=Float))))
    read = asyncio.create_task(database.fetch_one(sleeper, seconds=30))
    await wait_until_async(lambda: busy(embedded_pg, pid), timeout=10)
    embedded_pg.psql(f"SELECT pg_terminate_backend({pid})")
    with pytest.raises(Exception) as raised:
        await read
    assert is_outage(raised.value)
    # The pool's one connection was dropped: the next read gets a new one, not the dead one.
    assert await backend_pid(database, database.reading) != pid


def busy(embedded_pg, pid: int) -> bool:
    state = embedded_pg.psql(f"SELECT state FROM pg_stat_activity WHERE pid = {pid}")
    return "active" in state


BACKEND = kit_db.Query(
    select(func.pg_backend_pid().label("pid"), func.pg_sleep(bindparam("seconds", type_=Float)))
)


async def test_bursts_of_reads_share_a_fixed_set_of_connections(embedded_pg):
    """Reads beyond the pool's size wait for a connection; none is opened and closed for a
    burst (a PostgreSQL backend started and stopped each time)."""
    name = f"kitdb_{uuid.uuid4().hex[:8]}"
    embedded_pg.psql(f'CREATE DATABASE "{name}"')
    database = Database(embedded_pg.url(name), pool_size=3)
    try:
        backends: set[int] = set()
        for _ in range(5):
            rows = await asyncio.gather(
                *(database.fetch_one(BACKEND, seconds=0.01) for _ in range(30))
            )
            backends |= {row["pid"] for row in rows}
        assert len(backends) == 3
    finally:
        await database.dispose()
