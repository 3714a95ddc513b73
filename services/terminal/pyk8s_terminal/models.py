import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pyk8s_kit.db import make_metadata
from pyk8s_kit.outbox import OutboxMixin


class Base(DeclarativeBase):
    metadata = make_metadata()


class Ticket(Base):
    """A single-use ticket that opens one WebSocket session; only its hash is stored."""

    __tablename__ = "tickets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID]
    cluster_id: Mapped[uuid.UUID]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TerminalSession(Base):
    """The audit record of one shell session."""

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(index=True)
    cluster_id: Mapped[uuid.UUID] = mapped_column(index=True)
    container: Mapped[str] = mapped_column(String(200))
    # Where the container is: its host and that host's engine (None: the service's own).
    host_id: Mapped[str | None] = mapped_column(String(32))
    docker_host: Mapped[str | None] = mapped_column(String(500))
    exec_id: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Refreshed by the replica that runs the session; a session whose heartbeat stops (its
    # replica died) no longer counts against the limits and is closed as lost.
    heartbeat_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    end_reason: Mapped[str | None] = mapped_column(String(200))
    bytes_in: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_out: Mapped[int] = mapped_column(BigInteger, default=0)


class OutboxEvent(OutboxMixin, Base):
    pass
