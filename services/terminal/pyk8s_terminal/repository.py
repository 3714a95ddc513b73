"""All SQL of the terminal service."""

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import TerminalSession, Ticket

# Serializes session openings across replicas so the limits hold under concurrency.
OPEN_LOCK_ID = 5_311_907


class TerminalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    async def redeem_ticket(self, token_hash: str, now: datetime) -> Ticket | None:
        """Marks the ticket used and returns it, if it exists, is unused and unexpired."""
        return await self.session.scalar(
            update(Ticket)
            .where(
                Ticket.token_hash == token_hash, Ticket.used_at.is_(None), Ticket.expires_at > now
            )
            .values(used_at=now)
            .returning(Ticket)
        )

    async def prune_tickets(self, before: datetime) -> None:
        await self.session.execute(delete(Ticket).where(Ticket.expires_at < before))

    async def lock_openings(self) -> None:
        await self.session.execute(text(f"SELECT pg_advisory_xact_lock({OPEN_LOCK_ID})"))

    async def live_counts(
        self, user_id: uuid.UUID, cluster_id: uuid.UUID, alive_since: datetime
    ) -> tuple[int, int]:
        live = (TerminalSession.ended_at.is_(None), TerminalSession.heartbeat_at > alive_since)
        by_user = await self.session.scalar(
            select(func.count()).where(TerminalSession.user_id == user_id, *live)
        )
        by_cluster = await self.session.scalar(
            select(func.count()).where(TerminalSession.cluster_id == cluster_id, *live)
        )
        return by_user or 0, by_cluster or 0

    async def get(self, session_id: uuid.UUID) -> TerminalSession | None:
        return await self.session.get(TerminalSession, session_id)

    async def heartbeat(self, ids: list[uuid.UUID], now: datetime) -> None:
        if ids:
            await self.session.execute(
                update(TerminalSession).where(TerminalSession.id.in_(ids)).values(heartbeat_at=now)
            )

    async def lost_sessions(self, alive_since: datetime) -> list[TerminalSession]:
        return list(
            (
                await self.session.scalars(
                    select(TerminalSession)
                    .where(
                        TerminalSession.ended_at.is_(None),
                        TerminalSession.heartbeat_at <= alive_since,
                    )
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )

    async def open_sessions(self, started_before: datetime) -> list[TerminalSession]:
        return list(
            (
                await self.session.scalars(
                    select(TerminalSession).where(
                        TerminalSession.ended_at.is_(None),
                        TerminalSession.started_at < started_before,
                    )
                )
            ).all()
        )

    async def lock_open(self, ids: list[uuid.UUID]) -> list[TerminalSession]:
        """The sessions among `ids` still without an end, locked (skipping any another
        replica is closing at the same moment)."""
        return list(
            (
                await self.session.scalars(
                    select(TerminalSession)
                    .where(TerminalSession.id.in_(ids), TerminalSession.ended_at.is_(None))
                    .with_for_update(skip_locked=True)
                )
            ).all()
        )
