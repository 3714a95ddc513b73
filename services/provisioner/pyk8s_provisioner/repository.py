"""All SQL of the provisioner."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from pyk8s_contracts.clusters import Cluster as ClusterContract
from pyk8s_contracts.clusters import ClusterStatus as S
from pyk8s_contracts.clusters import Provider
from pyk8s_kit import pages
from pyk8s_kit.db import Query

from .models import Cluster, Host

LIVE = (S.PENDING, S.PROVISIONING, S.READY, S.DELETING, S.UNREACHABLE)
NOT_DELETED = (S.PENDING, S.PROVISIONING, S.READY, S.FAILED, S.DELETING, S.UNREACHABLE)


# A cluster as its contract shows it, for the reads every request makes (Database.fetch_one).
CONTRACT_COLUMNS = [c for c in Cluster.__table__.c if c.name in ClusterContract.model_fields]
CONTRACT_BY_ID = Query(select(*CONTRACT_COLUMNS).where(Cluster.id == bindparam("cluster_id")))


async def get(session: AsyncSession, cluster_id: uuid.UUID, lock: bool = False) -> Cluster | None:
    query = select(Cluster).where(Cluster.id == cluster_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def lock_scope(session: AsyncSession, team_id: uuid.UUID | None, owner_id: uuid.UUID) -> None:
    """Serialise creations in one quota scope until the transaction ends."""
    key = f"clusters:team:{team_id}" if team_id else f"clusters:owner:{owner_id}"
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


async def lock_placement(session: AsyncSession) -> None:
    """Serialise placements until the transaction ends: two creates at once would both see
    room for one more cluster on the same host."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('clusters:placement'))"))


async def placed(session: AsyncSession) -> list[tuple[str, str, int]]:
    """(host, provider, workers) of every cluster that holds resources on its host."""
    query = select(Cluster.host_id, Cluster.provider, Cluster.workers).where(
        Cluster.status.in_(LIVE)
    )
    return [tuple(row) for row in (await session.execute(query)).all()]


async def count_on_host(session: AsyncSession, host_id: str) -> int:
    query = (
        select(func.count())
        .select_from(Cluster)
        .where(Cluster.host_id == host_id, Cluster.status.in_(LIVE))
    )
    return (await session.scalar(query)) or 0


async def drained(session: AsyncSession) -> set[str]:
    return set((await session.scalars(select(Host.id).where(Host.drained))).all())


async def hosts(session: AsyncSession) -> list[Host]:
    return list((await session.scalars(select(Host).order_by(Host.id))).all())


async def host(session: AsyncSession, host_id: str, lock: bool = False) -> Host | None:
    query = select(Host).where(Host.id == host_id)
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


async def on_silent_hosts(session: AsyncSession, alive: set[str]) -> list[Cluster]:
    """Ready clusters whose host does not announce itself, locked; rows another replica is
    marking are skipped (it marks them)."""
    query = (
        select(Cluster)
        .where(Cluster.status == S.READY, Cluster.host_id.not_in(alive))
        .order_by(Cluster.created_at)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())


async def count_live(session: AsyncSession, team_id: uuid.UUID | None, owner_id: uuid.UUID) -> int:
    query = select(func.count()).select_from(Cluster).where(Cluster.status.in_(LIVE))
    if team_id:
        query = query.where(Cluster.team_id == team_id)
    else:
        query = query.where(Cluster.team_id.is_(None), Cluster.owner_id == owner_id)
    return (await session.scalar(query)) or 0


async def name_taken(
    session: AsyncSession, name: str, team_id: uuid.UUID | None, owner_id: uuid.UUID
) -> bool:
    query = select(Cluster.id).where(Cluster.name == name, Cluster.status.in_(NOT_DELETED))
    if team_id:
        query = query.where(Cluster.team_id == team_id)
    else:
        query = query.where(Cluster.team_id.is_(None), Cluster.owner_id == owner_id)
    return (await session.scalar(query.limit(1))) is not None


@dataclass(frozen=True)
class ClusterFilters:
    team_id: uuid.UUID | None = None
    status: S | None = None
    provider: Provider | None = None
    created_by: uuid.UUID | None = None


async def visible(
    session: AsyncSession,
    actor_id: uuid.UUID,
    team_ids: list[uuid.UUID],
    filters: ClusterFilters,
    position: pages.Position | None,
    limit: int,
) -> list[Cluster]:
    """Up to `limit` + 1 clusters after `position`, newest first: the actor's personal ones and
    those of `team_ids` (the teams the actor is in), narrowed by `filters`."""
    if filters.team_id:
        scope = Cluster.team_id == filters.team_id
    else:
        scope = or_(
            (Cluster.team_id.is_(None)) & (Cluster.owner_id == actor_id),
            Cluster.team_id.in_(team_ids),
        )
    query = select(Cluster).where(scope)
    if filters.status:
        query = query.where(Cluster.status == filters.status)
    else:
        query = query.where(Cluster.status != S.DELETED)
    if filters.provider:
        query = query.where(Cluster.provider == filters.provider)
    if filters.created_by:
        query = query.where(Cluster.owner_id == filters.created_by)
    query = pages.keyset(query, Cluster.created_at, Cluster.id, position, limit)
    return list((await session.scalars(query)).all())


async def count_team(session: AsyncSession, team_id: uuid.UUID) -> int:
    query = (
        select(func.count())
        .select_from(Cluster)
        .where(Cluster.team_id == team_id, Cluster.status != S.DELETED)
    )
    return (await session.scalar(query)) or 0


async def in_status(
    session: AsyncSession, statuses: tuple[str, ...], host_id: str | None = None
) -> list[Cluster]:
    query = select(Cluster).where(Cluster.status.in_(statuses)).order_by(Cluster.created_at)
    if host_id is not None:
        query = query.where(Cluster.host_id == host_id)
    return list((await session.scalars(query)).all())


async def runtime_names(
    session: AsyncSession, provider: str, names: set[str], statuses: tuple[str, ...]
) -> list[Cluster]:
    if not names:
        return []
    query = select(Cluster).where(
        Cluster.provider == provider, Cluster.runtime_name.in_(names), Cluster.status.in_(statuses)
    )
    return list((await session.scalars(query)).all())


async def expired(session: AsyncSession, now: datetime, limit: int = 100) -> list[Cluster]:
    query = (
        select(Cluster)
        .where(
            Cluster.expires_at <= now,
            Cluster.status.in_((S.PENDING, S.PROVISIONING, S.READY, S.FAILED, S.UNREACHABLE)),
        )
        .order_by(Cluster.expires_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.scalars(query)).all())
