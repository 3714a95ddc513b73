"""Database engine, the session scope that owns the commit, and migrations at start-up."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from asyncpg import Record
from sqlalchemy import MetaData, event, text
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# A pooled connection idle this long is pinged before use: a PostgreSQL restart since would
# otherwise fail the request that takes it. Busy connections skip the round trip, which cost
# a read a fifth of a service's CPU when every checkout pinged.
PING_AFTER_IDLE_SECONDS = 1.0


def make_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


class Query:
    """A read the hot paths run on every request, written with SQLAlchemy Core like every other
    statement but compiled once, at import, to PostgreSQL's SQL. `Database.fetch_one` runs it
    on the pooled connection's asyncpg driver, past SQLAlchemy's per-statement work (result
    processing, the ORM, the greenlet hand-off): 0.5 ms of CPU per read through a session,
    0.17 to 0.24 ms this way (docs/performance.md, "Authenticated reads"). Only for columns
    whose values asyncpg returns as the model has them (no type decorators, no JSON)."""

    def __init__(self, statement: Executable) -> None:
        compiled = statement.compile(dialect=asyncpg_dialect())
        self.sql = str(compiled)
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())

    def arguments(self, params: dict[str, object]) -> list[object]:
        missing = set(self.names) - params.keys()
        if missing:
            raise TypeError(f"query parameters missing: {', '.join(sorted(missing))}")
        return [params[name] for name in self.names]


class Database:
    """One engine per process. `session()` commits when the block succeeds and rolls back
    otherwise; service code never commits. Callbacks registered with `after_commit` run once
    the transaction is durable (the outbox relay is woken that way)."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        # A fixed pool: connections beyond the pool's size would be closed as they came back
        # whenever it held `pool_size` idle ones; under concurrent reads the provisioner opened
        # and closed 800 in 8 s, each a PostgreSQL backend started and stopped.
        self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
        _ping_when_idle(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # No transaction around a lone read: no BEGIN and COMMIT round trips.
        self._readers = async_sessionmaker(
            self.engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
        )
        self._after_commit: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        if session.info.get("wrote_events"):
            for callback in self._after_commit:
                callback()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """For reads that need no transaction (one statement, or statements that may each
        see the latest commit). Nothing may be written in it."""
        async with self._readers() as session:
            session.sync_session.info["reading"] = True
            yield session

    async def fetch_one(self, query: Query, **params: object) -> Record | None:
        """The first row of `query`, outside a transaction, or None. The connection comes from
        the engine's pool (checked when idle, as every checkout is); one that broke during the
        read is discarded, not returned to the pool."""
        pooled = await self.engine.raw_connection()
        driver = pooled.driver_connection
        try:
            return await driver.fetchrow(query.sql, *query.arguments(params))
        except BaseException:
            if driver.is_closed():
                await greenlet_spawn(pooled.invalidate)
            raise
        finally:
            # Back to the pool, from a greenlet: the pool's reset or a close may await the
            # driver.
            await greenlet_spawn(pooled.close)

    async def ping(self, timeout: float = 2.0) -> bool:
        """Whether the database answers within `timeout`: a probe must not hang on a host
        that drops packets."""
        try:
            async with asyncio.timeout(timeout), self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()


def _ping_when_idle(engine: AsyncEngine) -> None:
    pool = engine.sync_engine

    @event.listens_for(pool, "checkin")
    def checked_in(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def checked_out(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool drops this connection and takes another (or a new one).
            raise DisconnectionError(str(error)) from error


@event.listens_for(AsyncSession.sync_session_class, "before_flush")
def _no_writes_when_reading(session, _flush_context, _instances) -> None:
    if session.info.get("reading"):
        raise RuntimeError("a reading session may not write")


def alembic_config(migrations_dir: Path, url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def migrate(migrations_dir: Path, url: str) -> None:
    """Upgrade to head. Alembic is synchronous and its env.py runs its own event loop,
    so it runs in a worker thread."""
    await asyncio.to_thread(command.upgrade, alembic_config(migrations_dir, url), "head")
