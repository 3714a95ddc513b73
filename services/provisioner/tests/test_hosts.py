"""Docker hosts on a real JetStream and PostgreSQL: announcements that expire, work routed to
the workers of the cluster's host, clusters of a silent host unreachable and back."""

import asyncio
import json
import uuid

import pytest
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.errors import NotFoundError
from sqlalchemy import select

from pyk8s_contracts import clusters as c
from pyk8s_contracts import subjects
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database
from pyk8s_kit.outbox import OutboxRelay
from pyk8s_kit.testing import ensure_all_streams, wait_until_async
from pyk8s_provisioner.drivers import build_drivers
from pyk8s_provisioner.hosts import HostAgent, HostBoard
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.models import Cluster, Host, OutboxEvent
from pyk8s_provisioner.operations import Operations
from pyk8s_provisioner.service import ClusterService
from pyk8s_provisioner.settings import ProvisionerSettings
from pyk8s_provisioner.worker import Worker

from .conftest import K3D_DOUBLE, KIND_DOUBLE, announced_hosts_double, remove_runtime

HOSTS = ("host-a", "host-b")


class NoTeams:
    """Test double of the teams service for someone in no team."""

    async def __call__(self, team_id, user_id):
        return None

    async def many(self, user_id, team_ids):
        return {}


class Pool:
    """Test double of the hosts bucket's reader: the hosts in `up` announce themselves."""

    def __init__(self, settings_by_host, drivers) -> None:
        self.readers = {
            host: announced_hosts_double(settings, drivers)
            for host, settings in settings_by_host.items()
        }
        self.up = set(settings_by_host)

    async def __call__(self) -> dict:
        found = {}
        for host in sorted(self.up):
            found.update(await self.readers[host]())
        return found


@pytest.fixture
async def two_hosts(make_database, nats_server, tmp_path):
    url = make_database("provisioner", MIGRATIONS)
    settings = {
        host: ProvisionerSettings(
            environment="test",
            database_url=url,
            kind_bin=KIND_DOUBLE,
            k3d_bin=K3D_DOUBLE,
            work_dir=tmp_path / host,
            host_id=host,
            personal_quota=10,
            work_ack_wait_seconds=2.0,
            work_retry_delay_seconds=0.2,
            workers=2,
        )
        for host in HOSTS
    }
    db = Database(url)
    await ensure_all_streams(nats_server)
    nc = await nats_server.connect("provisioner")
    js = nc.jetstream()
    relay = OutboxRelay(db, OutboxEvent, js, interval=0.1)
    relay.start()
    drivers = build_drivers(settings[HOSTS[0]])
    ops = {host: Operations(db, settings[host], drivers) for host in HOSTS}
    workers = {host: Worker(js, ops[host], settings[host]) for host in HOSTS}
    for worker in workers.values():
        await worker.ensure_consumer()
    pool = Pool(settings, drivers)
    service = ClusterService(db, settings[HOSTS[0]], NoTeams(), drivers, pool)
    tasks = [asyncio.create_task(worker.run()) for worker in workers.values()]
    events_nc = await nats_server.connect("events")
    seen: list[dict] = []

    async def received(msg) -> None:
        seen.append(json.loads(msg.data))

    await events_nc.jetstream().subscribe(
        subjects.CLUSTER_EVENTS_ALL,
        stream=subjects.EVENTS_STREAM,
        cb=received,
        ordered_consumer=True,
    )
    yield service, ops, pool, seen, js
    await events_nc.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await relay.stop()
    await nc.close()
    async with db.session() as session:
        for cluster in (await session.scalars(select(Cluster))).all():
            remove_runtime(cluster.provider, cluster.runtime_name)
    await db.dispose()


async def read(service, actor, cluster_id) -> c.Cluster:
    return await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster_id))


async def all_in(service, actor, ids, status) -> bool:
    return all([(await read(service, actor, i)).status == status for i in ids])


def verbs(seen, cluster_id) -> list[str]:
    """The cluster's lifecycle events received from the stream so far."""
    return [e["type"].rsplit(".", 1)[-1] for e in seen if e["subject"] == str(cluster_id)]


async def test_clusters_spread_over_hosts_and_run_on_their_hosts_workers(two_hosts, monkeypatch):
    service, ops, _, _, _ = two_hosts
    ran_on: dict[uuid.UUID, str] = {}
    for host, host_ops in ops.items():
        original = host_ops.create

        async def recorded(cluster_id, host=host, original=original):
            ran_on[cluster_id] = host
            await original(cluster_id)

        monkeypatch.setattr(host_ops, "create", recorded)
    actor = uuid.uuid4()
    made = [
        await service.create(
            c.ClusterCreateRequest(actor_id=actor, name=f"s{i}", provider=("kind", "k3d")[i % 2])
        )
        for i in range(4)
    ]
    assert sorted(cluster.host_id for cluster in made) == ["host-a", "host-a", "host-b", "host-b"]
    ids = [cluster.id for cluster in made]
    await wait_until_async(lambda: all_in(service, actor, ids, "ready"), timeout=60)
    assert ran_on == {cluster.id: cluster.host_id for cluster in made}


async def test_a_silent_hosts_clusters_turn_unreachable_once_then_ready_again(two_hosts):
    service, ops, pool, seen, _ = two_hosts
    actor = uuid.uuid4()
    first = await service.create(c.ClusterCreateRequest(actor_id=actor, name="u0", provider="kind"))
    assert first.host_id == "host-a"
    await wait_until_async(lambda: all_in(service, actor, [first.id], "ready"), timeout=60)
    pool.up = {"host-b"}
    # Two replicas check at once: each cluster changes, and is announced, once.
    marked = await asyncio.gather(
        ops["host-a"].mark_unreachable({"host-b"}), ops["host-b"].mark_unreachable({"host-b"})
    )
    assert sum(marked) == 1
    gone = await read(service, actor, first.id)
    assert (gone.status, gone.status_message) == (
        "unreachable",
        "its Docker host host-a stopped announcing itself",
    )
    second = await service.create(
        c.ClusterCreateRequest(actor_id=actor, name="u1", provider="kind")
    )
    assert second.host_id == "host-b"  # host-a holds fewer clusters, but is silent
    await ops["host-b"].recover_unreachable()  # not its cluster
    assert (await read(service, actor, first.id)).status == "unreachable"
    pool.up = set(HOSTS)
    await ops["host-a"].recover_unreachable()
    back = await read(service, actor, first.id)
    assert (back.status, back.status_message) == ("ready", None)
    expected = ["created", "provisioning", "ready", "unreachable", "ready"]
    await wait_until_async(lambda: verbs(seen, first.id) == expected, timeout=10)
    unreachable = [e for e in seen if e["type"] == "io.pyk8s.cluster.unreachable"]
    assert unreachable[0]["data"]["host_id"] == "host-a"
    assert unreachable[0]["data"]["status"] == "unreachable"


async def test_a_cluster_whose_nodes_went_with_its_host_fails_on_return(two_hosts):
    service, ops, _, _, _ = two_hosts
    actor = uuid.uuid4()
    cluster = await service.create(
        c.ClusterCreateRequest(actor_id=actor, name="l0", provider="kind")
    )
    await wait_until_async(lambda: all_in(service, actor, [cluster.id], "ready"), timeout=60)
    await ops[cluster.host_id].mark_unreachable(set())
    async with ops[cluster.host_id].db.session() as session:
        runtime = (await session.get(Cluster, cluster.id)).runtime_name
    remove_runtime("kind", runtime)
    await ops[cluster.host_id].recover_unreachable()
    failed = await read(service, actor, cluster.id)
    assert failed.status == "failed"
    assert failed.status_message == (
        "lost while its host was unreachable: control-plane: 0 of 1 running"
    )


async def test_drained_hosts_take_no_new_clusters(two_hosts):
    service, ops, _, _, _ = two_hosts
    db = ops["host-a"].db
    async with db.session() as session:
        session.add(Host(id="host-a", drained=True))
    actor = uuid.uuid4()
    for index in range(3):
        made = await service.create(
            c.ClusterCreateRequest(actor_id=actor, name=f"d{index}", provider="k3d")
        )
        assert made.host_id == "host-b"
    async with db.session() as session:
        session.add(Host(id="host-b", drained=True))
    with pytest.raises(ServiceError) as refused:
        await service.create(c.ClusterCreateRequest(actor_id=actor, name="d9", provider="k3d"))
    assert refused.value.code == "service_unavailable"
    # A create that names no version asks for the provider's default (the k3d double's).
    assert refused.value.message == (
        "no Docker host can take a k3d v1.31.5 cluster now: host-a is drained; host-b is drained"
    )


async def test_announcements_leave_the_bucket_after_the_deadline(
    make_database, nats_server, tmp_path
):
    url = make_database("provisioner", MIGRATIONS)
    settings = ProvisionerSettings(
        environment="test",
        database_url=url,
        kind_bin=KIND_DOUBLE,
        k3d_bin=K3D_DOUBLE,
        work_dir=tmp_path / "work",
        host_id="edge-1",
        host_max_clusters=7,
        host_memory_mb=2048,
        host_address="edge-1.example",
        host_announce_interval_seconds=0.5,
        host_deadline_seconds=1.0,
    )
    db = Database(url)
    nc = await nats_server.connect("provisioner")
    try:
        board = await HostBoard.open(nc.jetstream(), 1, settings.host_deadline_seconds)
        drivers = build_drivers(settings)
        agent = HostAgent(board, Operations(db, settings, drivers), settings, drivers)
        await agent.announce()
        announced = await board.announced()
        assert list(announced) == ["edge-1"]
        edge = announced["edge-1"]
        assert (edge.max_clusters, edge.memory_bytes, edge.clusters) == (7, 2048 * 1024**2, 0)
        assert edge.address == "edge-1.example"
        offered = {p.name.value: (p.available, p.kubernetes_versions) for p in edge.providers}
        # What the drivers describe: the doubles' default versions (no node image held here).
        assert offered["kind"] == (True, ["v1.34.0"]) and offered["k3d"] == (True, ["v1.31.5"])
        await wait_until_async(lambda: _silent(board), timeout=10, interval=0.1)
    finally:
        await nc.close()
        await db.dispose()


async def _silent(board) -> bool:
    return await board.announced() == {}


async def test_the_single_host_consumer_gives_way_to_the_hosts(
    make_database, nats_server, tmp_path
):
    await ensure_all_streams(nats_server)
    nc = await nats_server.connect("provisioner")
    js = nc.jetstream()
    try:
        legacy = ConsumerConfig(
            durable_name="provisioner",
            filter_subject=subjects.WORK_PROVISIONER_ALL,
            ack_policy=AckPolicy.EXPLICIT,
        )
        await js.add_consumer(subjects.WORK_STREAM, legacy)
        settings = ProvisionerSettings(
            environment="test", database_url=make_database("provisioner", MIGRATIONS)
        )
        await Worker(js, None, settings).ensure_consumer()
        with pytest.raises(NotFoundError):
            await js.consumer_info(subjects.WORK_STREAM, "provisioner")
        info = await js.consumer_info(subjects.WORK_STREAM, "provisioner-local")
        assert info.config.filter_subject == "pyk8s.work.provisioner.local.>"
    finally:
        await nc.close()


def test_a_host_deadline_shorter_than_a_nats_failover_is_refused():
    # The defaults outlast a failover on a NATS cluster: 30 s >= 10 + 2 x 5 s.
    assert ProvisionerSettings(environment="test", nats_stream_replicas=3).host_deadline_seconds
    with pytest.raises(ValueError, match=r"PROVISIONER_HOST_DEADLINE_SECONDS must be at least 20 "):
        ProvisionerSettings(environment="test", nats_stream_replicas=3, host_deadline_seconds=19.9)
    with pytest.raises(ValueError, match=r"at least 11 with PROVISIONER_NATS_STREAM_REPLICAS=3"):
        ProvisionerSettings(
            environment="test",
            nats_stream_replicas=3,
            host_announce_interval_seconds=0.5,
            host_deadline_seconds=6,
        )
    # On one NATS server there is no failover to outlast: one late announcement must fit.
    single = ProvisionerSettings(
        environment="test", host_announce_interval_seconds=0.5, host_deadline_seconds=1
    )
    assert single.host_deadline_seconds == 1
    with pytest.raises(ValueError, match="at least twice PROVISIONER_HOST_ANNOUNCE_INTERVAL"):
        ProvisionerSettings(environment="test", host_deadline_seconds=9)
