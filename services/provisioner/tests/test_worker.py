"""The work consumer on a real JetStream: heartbeats keep a long CLI run from being
redelivered, and work that keeps failing is retried a bounded number of times, then the
cluster is marked failed with the reason."""

import asyncio
import uuid

import pytest

from pyk8s_contracts import clusters as c
from pyk8s_kit.db import Database
from pyk8s_kit.outbox import OutboxRelay
from pyk8s_kit.testing import ensure_all_streams, wait_until_async
from pyk8s_provisioner.drivers import build_drivers
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.models import Cluster, OutboxEvent
from pyk8s_provisioner.operations import Operations
from pyk8s_provisioner.service import ClusterService
from pyk8s_provisioner.settings import ProvisionerSettings
from pyk8s_provisioner.worker import Worker

from .conftest import K3D_DOUBLE, KIND_DOUBLE, announced_hosts_double, remove_runtime


async def no_teams(team_id, user_id):
    return None


@pytest.fixture
async def running(make_database, nats_server, tmp_path):
    url = make_database("provisioner", MIGRATIONS)
    settings = ProvisionerSettings(
        environment="test",
        database_url=url,
        kind_bin=KIND_DOUBLE,
        k3d_bin=K3D_DOUBLE,
        work_dir=tmp_path / "work",
        work_ack_wait_seconds=1.0,
        work_max_deliver=3,
        work_retry_delay_seconds=0.1,
        workers=2,
    )
    db = Database(url)
    await ensure_all_streams(nats_server)
    nc = await nats_server.connect("provisioner")
    js = nc.jetstream()
    relay = OutboxRelay(db, OutboxEvent, js, interval=0.1)
    relay.start()
    drivers = build_drivers(settings)
    ops = Operations(db, settings, drivers)
    worker = Worker(js, ops, settings)
    await worker.ensure_consumer()
    service = ClusterService(
        db, settings, no_teams, drivers, announced_hosts_double(settings, drivers)
    )
    task = None

    def start():
        nonlocal task
        task = asyncio.create_task(worker.run())

    yield service, ops, start
    if task:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await relay.stop()
    await nc.close()
    async with db.session() as session:
        for cluster in (await session.execute(Cluster.__table__.select())).all():
            remove_runtime(cluster.provider, cluster.runtime_name)
    await db.dispose()


async def status(service, actor, cluster_id) -> c.Cluster:
    return await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster_id))


async def test_a_cli_run_longer_than_ack_wait_is_not_redelivered(running, monkeypatch):
    service, ops, start = running
    monkeypatch.setenv("PYK8S_DOUBLE_CREATE_DELAY", "3")  # three times the ack wait
    calls = []
    original = ops.create

    async def counted(cluster_id):
        calls.append(cluster_id)
        await original(cluster_id)

    monkeypatch.setattr(ops, "create", counted)
    start()
    actor = uuid.uuid4()
    cluster = await service.create(
        c.ClusterCreateRequest(actor_id=actor, name="slow", provider="kind")
    )
    await wait_until_async(lambda: _is(service, actor, cluster.id, "ready"), timeout=30)
    assert calls == [cluster.id]


async def test_failing_work_is_retried_a_bounded_number_of_times(running, monkeypatch):
    service, ops, start = running
    attempts = []

    async def broken(cluster_id):
        attempts.append(cluster_id)
        raise ConnectionError("docker socket unavailable")

    monkeypatch.setattr(ops, "create", broken)
    start()
    actor = uuid.uuid4()
    cluster = await service.create(
        c.ClusterCreateRequest(actor_id=actor, name="broken", provider="k3d")
    )
    await wait_until_async(lambda: _is(service, actor, cluster.id, "failed"), timeout=30)
    failed = await status(service, actor, cluster.id)
    assert failed.status_message == "create failed: ConnectionError: docker socket unavailable"
    assert len(attempts) == 3  # work_max_deliver


async def _is(service, actor, cluster_id, wanted) -> bool:
    return (await status(service, actor, cluster_id)).status == wanted
