"""Transactional outbox: events are written in the same transaction as the change that
caused them and published afterwards with `Nats-Msg-Id` = event id, so a crash between
commit and publish neither loses nor duplicates an event (JetStream drops the repeat)."""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from nats.js import JetStreamContext
from sqlalchemy import DateTime, String, Text, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from pyk8s_contracts.events import CloudEvent

from .db import Database

log = logging.getLogger(__name__)

# Taken by the relay's transaction: the relays of a service's replicas publish one batch at a
# time (advisory locks belong to one database, so each service's relays wait only for their own).
RELAY_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('pyk8s:outbox-relay'))")

# A publish JetStream has not acknowledged within this is sent again (its message id makes the
# repeat harmless). Short, because while a NATS cluster elects a stream's new leader publishes
# go unanswered: nats-py's default of 5 s kept events back up to 10 s past the election.
PUBLISH_TIMEOUT_SECONDS = 2.0


class OutboxMixin:
    """Mix into one model per service: `class OutboxEvent(OutboxMixin, Base)`."""

    __tablename__ = "outbox"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


_last_stamp = datetime.min.replace(tzinfo=UTC)


def _next_stamp() -> datetime:
    """Strictly increasing within the process, so events of one transaction (which share the
    database's now()) are published in the order they were added."""
    global _last_stamp
    _last_stamp = max(datetime.now(UTC), _last_stamp + timedelta(microseconds=1))
    return _last_stamp


def add_event(
    session: AsyncSession, model: type[OutboxMixin], subject: str, event: CloudEvent
) -> None:
    session.add(
        model(
            id=uuid.UUID(event.id),
            subject=subject,
            payload=event.model_dump_json(),
            created_at=_next_stamp(),
        )
    )
    session.info["wrote_events"] = True


class OutboxRelay:
    """Publishes outbox rows in order. Every replica runs one; they take turns, a batch each,
    under a transaction-scoped advisory lock, so rows are published in the order they were
    written whichever replica publishes them (with SKIP LOCKED, a second replica would publish
    the next rows while the first still publishes the earlier ones). A replica that dies
    mid-batch releases the lock with its connection; its rows, not deleted, go in the next
    batch, and JetStream drops what it had published already (same `Nats-Msg-Id`)."""

    def __init__(
        self, db: Database, model: type[OutboxMixin], js: JetStreamContext, interval: float = 1.0
    ) -> None:
        self._db = db
        self._model = model
        self._js = js
        self._interval = interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        db.after_commit(self._wake.set)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                while await self.publish_batch():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
            try:
                # Not wait_for: on 3.11 it can swallow a cancel that races the wake-up.
                async with asyncio.timeout(self._interval):
                    await self._wake.wait()
            except TimeoutError:
                pass
            self._wake.clear()

    async def publish_batch(self, size: int = 100) -> int:
        async with self._db.session() as session:
            await session.execute(RELAY_LOCK)
            rows = (
                await session.scalars(
                    select(self._model).order_by(self._model.created_at, self._model.id).limit(size)
                )
            ).all()
            for row in rows:
                await self._js.publish(
                    row.subject,
                    row.payload.encode(),
                    headers={"Nats-Msg-Id": str(row.id)},
                    timeout=PUBLISH_TIMEOUT_SECONDS,
                )
            if rows:
                await session.execute(
                    delete(self._model).where(self._model.id.in_([r.id for r in rows]))
                )
            return len(rows)
