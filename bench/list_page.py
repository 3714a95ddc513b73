"""A page of the cluster list (P5): 10,000 clusters in 1,000 teams, seeded through the
provisioner's own model on a real PostgreSQL, listed by someone in every team (the widest
list there is). Prints page latency p50/p99 for the keyset pages the provisioner serves
(`ClusterService.list`: cursor, SQL, contract), beside two baselines measured in the same run:
the same pages by OFFSET, and the whole list unpaged (what every list was before)."""

import asyncio
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, or_, select

from pyk8s_contracts import clusters as c
from pyk8s_contracts.clusters import ClusterStatus as S
from pyk8s_contracts.common import utcnow
from pyk8s_contracts.teams import Role
from pyk8s_kit.db import Database, migrate
from pyk8s_kit.embedded import EmbeddedPostgres
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.models import Cluster
from pyk8s_provisioner.service import ClusterService
from pyk8s_provisioner.settings import ProvisionerSettings

TEAMS = 1_000
CLUSTERS = 10_000
PAGE = 50
ROUNDS = 3  # walks over every page, each timed
ACTOR = uuid.uuid4()


class AllTeams:
    """Stands in for the teams service: the actor is a member of every team."""

    def __init__(self, team_ids: list[uuid.UUID]) -> None:
        self.roles = dict.fromkeys(team_ids, Role.MEMBER)

    async def __call__(self, team_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        return self.roles.get(team_id)

    async def many(self, user_id: uuid.UUID, team_ids: list[uuid.UUID] | None) -> dict:
        return self.roles if team_ids is None else {t: self.roles[t] for t in team_ids}


def cluster_rows(team_ids: list[uuid.UUID], count: int) -> list[dict]:
    """`count` ready clusters spread over the teams, as rows of the provisioner's table."""
    now = utcnow()
    rows = []
    for n in range(count):
        cluster_id = uuid.uuid4()
        rows.append(
            {
                "id": cluster_id,
                "name": f"c{n}",
                "team_id": team_ids[n % len(team_ids)],
                "owner_id": uuid.uuid4(),
                "provider": "kind",
                "workers": 0,
                "status": S.READY.value,
                "runtime_name": f"r-{cluster_id.hex[:12]}",
                # Many clusters per second, as a busy platform makes them: ties on created_at.
                "created_at": now - timedelta(seconds=n // 10),
                "expires_at": now + timedelta(hours=4),
            }
        )
    return rows


async def seed(db: Database) -> list[uuid.UUID]:
    teams = [uuid.uuid4() for _ in range(TEAMS)]
    async with db.session() as session:
        await session.execute(insert(Cluster), cluster_rows(teams, CLUSTERS))
    return teams


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


async def keyset_pages(service: ClusterService) -> list[float]:
    times, cursor = [], None
    while True:
        started = time.perf_counter()
        page = await service.list(c.ClusterListRequest(actor_id=ACTOR, limit=PAGE, cursor=cursor))
        times.append((time.perf_counter() - started) * 1000)
        cursor = page.next_cursor
        if cursor is None:
            return times


async def offset_pages(db: Database, teams: list[uuid.UUID]) -> list[float]:
    times = []
    scope = or_(
        (Cluster.team_id.is_(None)) & (Cluster.owner_id == ACTOR), Cluster.team_id.in_(teams)
    )
    for offset in range(0, CLUSTERS, PAGE):
        started = time.perf_counter()
        async with db.session() as session:
            query = (
                select(Cluster)
                .where(scope, Cluster.status != S.DELETED)
                .order_by(Cluster.created_at.desc(), Cluster.id.desc())
                .offset(offset)
                .limit(PAGE)
            )
            rows = (await session.scalars(query)).all()
        [c.Cluster.model_validate(row) for row in rows]
        times.append((time.perf_counter() - started) * 1000)
    return times


async def unpaged(db: Database, teams: list[uuid.UUID], rounds: int) -> list[float]:
    times = []
    scope = or_(
        (Cluster.team_id.is_(None)) & (Cluster.owner_id == ACTOR), Cluster.team_id.in_(teams)
    )
    for _ in range(rounds):
        started = time.perf_counter()
        async with db.session() as session:
            query = select(Cluster).where(scope, Cluster.status != S.DELETED)
            rows = (await session.scalars(query.order_by(Cluster.created_at, Cluster.id))).all()
        [c.Cluster.model_validate(row) for row in rows]
        times.append((time.perf_counter() - started) * 1000)
    return times


async def no_hosts() -> dict:
    """Lists never place a cluster: no Docker host is asked about."""
    return {}


async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    pg = EmbeddedPostgres(tmp / "pg", durable=False).start()
    try:
        pg.ensure_database("bench")
        url = pg.url("bench")
        await migrate(MIGRATIONS, url)
        db = Database(url)
        teams = await seed(db)
        settings = ProvisionerSettings(environment="test", database_url=url, work_dir=tmp / "w")
        service = ClusterService(db, settings, AllTeams(teams), {}, no_hosts)
        await keyset_pages(service)  # warm-up: connections, plans, caches
        keyset, offset = [], []
        for _ in range(ROUNDS):
            keyset += await keyset_pages(service)
            offset += await offset_pages(db, teams)
        whole = await unpaged(db, teams, 10)
        await db.dispose()
    finally:
        pg.stop()

    k50, k99 = summary(keyset)
    o50, o99 = summary(offset)
    u50, u99 = summary(whole)
    print(f"{CLUSTERS} clusters in {TEAMS} teams, one member of every team, pages of {PAGE}")
    pages = len(keyset)
    print(
        f"  keyset page (provisioner list):  p50 {k50:6.2f} ms  p99 {k99:6.2f} ms  ({pages} pages)"
    )
    print(f"  OFFSET page (baseline):          p50 {o50:6.2f} ms  p99 {o99:6.2f} ms")
    print(f"  whole list unpaged (before):     p50 {u50:6.2f} ms  p99 {u99:6.2f} ms")
    print(f"  keyset p99 / OFFSET p99: {k99 / o99:.2f}   keyset p99 / unpaged p50: {k99 / u50:.3f}")
    print(f"  P5 target, a page in 30 ms p99 or less: {'met' if k99 <= 30 else 'NOT met'}")


if __name__ == "__main__":
    asyncio.run(main())
