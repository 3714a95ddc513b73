"""The cluster list against a real PostgreSQL: keyset pages newest first, stable when many
clusters share a creation time, filters, refused cursors, and the actor's teams asked of the
teams service in one request."""

import uuid
from datetime import timedelta

import pytest

from pyk8s_contracts import clusters as c
from pyk8s_contracts.common import utcnow
from pyk8s_contracts.teams import Role
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database
from pyk8s_provisioner import repository
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.models import Cluster
from pyk8s_provisioner.service import ClusterService
from pyk8s_provisioner.settings import ProvisionerSettings

from .conftest import announced_hosts_double

ACTOR = uuid.uuid4()
TEAM = uuid.uuid4()
OTHER_TEAM = uuid.uuid4()


class CountingTeams:
    """Test double of the teams service: the actor's roles, and how often it was asked."""

    def __init__(self, roles: dict[uuid.UUID, Role]) -> None:
        self.roles = roles
        self.requests = 0

    async def __call__(self, team_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        self.requests += 1
        return self.roles.get(team_id) if user_id == ACTOR else None

    async def many(self, user_id: uuid.UUID, team_ids: list[uuid.UUID] | None) -> dict:
        self.requests += 1
        if user_id != ACTOR:
            return {}
        return {t: r for t, r in self.roles.items() if team_ids is None or t in team_ids}


@pytest.fixture
async def listing(make_database, tmp_path):
    url = make_database("provisioner", MIGRATIONS)
    settings = ProvisionerSettings(environment="test", database_url=url, work_dir=tmp_path)
    db = Database(url)
    teams = CountingTeams({TEAM: Role.VIEWER})
    yield ClusterService(db, settings, teams, {}, announced_hosts_double(settings, {})), teams, db
    await db.dispose()


async def seed(
    db: Database, count: int, same_time: bool = False, later: int = 0, **fields
) -> list[uuid.UUID]:
    """`count` clusters stored through the provisioner's model, a second apart (`later`
    minutes from now); with `same_time`, all with one creation time (the id alone orders
    them)."""
    now = utcnow() + timedelta(minutes=later)
    ids = []
    async with db.session() as session:
        for n in range(count):
            cluster_id = uuid.uuid4()
            values = {
                "team_id": None,
                "owner_id": ACTOR,
                "provider": "kind",
                "status": "ready",
                **fields,
            }
            session.add(
                Cluster(
                    id=cluster_id,
                    name=f"c-{cluster_id.hex[:10]}",
                    workers=0,
                    runtime_name=f"r-{cluster_id.hex[:12]}",
                    created_at=now if same_time else now - timedelta(seconds=n),
                    expires_at=now + timedelta(hours=1),
                    **values,
                )
            )
            ids.append(cluster_id)
    return ids


async def every_page(service: ClusterService, **query) -> tuple[list[uuid.UUID], int]:
    seen, pages, cursor = [], 0, None
    while True:
        page = await service.list(c.ClusterListRequest(actor_id=ACTOR, cursor=cursor, **query))
        seen += [cluster.id for cluster in page.clusters]
        pages += 1
        if page.next_cursor is None:
            return seen, pages
        cursor = page.next_cursor


async def test_pages_are_newest_first_and_stable_when_creation_times_are_equal(listing):
    service, _, db = listing
    stored = await seed(db, 7, same_time=True)
    stored += await seed(db, 5)
    seen, pages = await every_page(service, limit=3)
    assert pages == 4
    assert len(seen) == len(set(seen)) == 12  # nothing twice, nothing left out
    async with db.session() as session:
        rows = {row.id: row for row in await repository.in_status(session, ("ready",))}
    keys = [(rows[i].created_at, rows[i].id) for i in seen]
    assert keys == sorted(keys, reverse=True)


async def test_a_page_does_not_move_when_newer_clusters_arrive(listing):
    service, _, db = listing
    await seed(db, 4)
    first = await service.list(c.ClusterListRequest(actor_id=ACTOR, limit=2))
    await seed(db, 3, later=10)  # newer than every one seen so far
    second = await service.list(
        c.ClusterListRequest(actor_id=ACTOR, limit=2, cursor=first.next_cursor)
    )
    assert second.next_cursor is None
    assert {x.id for x in first.clusters}.isdisjoint({x.id for x in second.clusters})
    assert len(second.clusters) == 2


async def test_filters_narrow_the_list(listing):
    service, _, db = listing
    someone = uuid.uuid4()
    mine = await seed(db, 2)
    team_kind = await seed(db, 2, team_id=TEAM, owner_id=someone)
    team_k3d = await seed(db, 1, team_id=TEAM, owner_id=ACTOR, provider="k3d")
    failed = await seed(db, 1, status="failed")
    deleted = await seed(db, 1, status="deleted")
    await seed(db, 3, team_id=OTHER_TEAM, owner_id=someone)  # not the actor's team

    async def ids(**query) -> set[uuid.UUID]:
        return set((await every_page(service, **query))[0])

    assert await ids() == {*mine, *team_kind, *team_k3d, *failed}
    assert await ids(team_id=TEAM) == {*team_kind, *team_k3d}
    assert await ids(provider=c.Provider.K3D) == set(team_k3d)
    assert await ids(created_by=someone) == set(team_kind)
    assert await ids(status=c.ClusterStatus.FAILED) == set(failed)
    assert await ids(status=c.ClusterStatus.DELETED) == set(deleted)
    assert await ids(team_id=TEAM, created_by=ACTOR) == set(team_k3d)


async def test_a_list_over_many_teams_asks_the_teams_service_once(listing):
    service, teams, db = listing
    many = {uuid.uuid4(): Role.MEMBER for _ in range(40)}
    teams.roles.update(many)
    for team_id in many:
        await seed(db, 1, team_id=team_id, owner_id=uuid.uuid4())
    teams.requests = 0
    page = await service.list(c.ClusterListRequest(actor_id=ACTOR, limit=200))
    assert len(page.clusters) == 40
    assert teams.requests == 1


async def test_a_team_the_actor_is_not_in_is_refused(listing):
    service, _, db = listing
    await seed(db, 2, team_id=OTHER_TEAM, owner_id=uuid.uuid4())
    with pytest.raises(ServiceError) as refused:
        await service.list(c.ClusterListRequest(actor_id=ACTOR, team_id=OTHER_TEAM))
    assert refused.value.code == "not_found"


@pytest.mark.parametrize(
    "cursor",
    ["not-base64!", "e30", "eyJzIjoieCJ9", "AAAA", "x" * 40],
)
async def test_a_malformed_cursor_is_a_validation_error(listing, cursor):
    service, _, _ = listing
    with pytest.raises(ServiceError) as refused:
        await service.list(c.ClusterListRequest(actor_id=ACTOR, cursor=cursor))
    assert refused.value.code == "validation_error"
    assert "cursor" in refused.value.message


async def test_a_cursor_of_other_filters_or_another_caller_is_refused(listing):
    service, _, db = listing
    await seed(db, 3)
    cursor = (await service.list(c.ClusterListRequest(actor_id=ACTOR, limit=1))).next_cursor
    assert cursor
    for foreign in (
        c.ClusterListRequest(actor_id=ACTOR, limit=1, cursor=cursor, provider=c.Provider.KIND),
        c.ClusterListRequest(actor_id=uuid.uuid4(), limit=1, cursor=cursor),
    ):
        with pytest.raises(ServiceError) as refused:
            await service.list(foreign)
        assert refused.value.code == "validation_error"
        assert "another list" in refused.value.message
