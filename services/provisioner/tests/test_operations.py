"""Provisioner rules and long-running work against a real PostgreSQL, the kind/k3d test
doubles and kwok for real (without NATS: events and queued work are read back from the outbox
table)."""

import asyncio
import json
import subprocess
import time
import uuid
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from conftest import KWOK_SETTINGS, kwok_processes, remove_kwok, require_kwok
from pyk8s_contracts import clusters as c
from pyk8s_contracts.common import utcnow
from pyk8s_contracts.teams import Role
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database
from pyk8s_provisioner.crypto import KubeconfigBox
from pyk8s_provisioner.drivers import CreateSpec, KwokDriver, Shell, build_drivers
from pyk8s_provisioner.drivers.kwok import installed_versions
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.models import Cluster, OutboxEvent
from pyk8s_provisioner.operations import Operations
from pyk8s_provisioner.service import ClusterService, runtime_name
from pyk8s_provisioner.settings import ProvisionerSettings

from .conftest import (
    K3D_DOUBLE,
    KIND_DOUBLE,
    announced_hosts_double,
    containers,
    remove_container,
    remove_runtime,
)

TEAM = uuid.uuid4()


class Teams:
    """Test double of the teams service's membership answer."""

    def __init__(self) -> None:
        self.roles: dict[tuple[uuid.UUID, uuid.UUID], Role] = {}

    async def __call__(self, team_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        return self.roles.get((team_id, user_id))

    async def many(self, user_id: uuid.UUID, team_ids: list[uuid.UUID] | None) -> dict:
        return {
            team: role
            for (team, user), role in self.roles.items()
            if user == user_id and (team_ids is None or team in team_ids)
        }


@pytest.fixture
async def world(make_database, tmp_path):
    url = make_database("provisioner", MIGRATIONS)
    settings = ProvisionerSettings(
        environment="test",
        database_url=url,
        kind_bin=KIND_DOUBLE,
        k3d_bin=K3D_DOUBLE,
        work_dir=tmp_path / "work",
        max_concurrent_creates=1,
        team_quota=2,
        **KWOK_SETTINGS,
    )
    db = Database(url)
    drivers = build_drivers(settings)
    teams = Teams()
    service = ClusterService(
        db, settings, teams, drivers, announced_hosts_double(settings, drivers)
    )
    ops = Operations(db, settings, drivers)
    yield service, ops, teams, db
    async with db.session() as session:
        for cluster in (await session.scalars(select(Cluster))).all():
            if cluster.provider == "kwok":
                remove_kwok(settings.work_dir / "kwok", cluster.runtime_name)
            else:
                remove_runtime(cluster.provider, cluster.runtime_name)
    await db.dispose()


async def outbox(db: Database) -> list[tuple[str, dict]]:
    async with db.session() as session:
        rows = (await session.scalars(select(OutboxEvent).order_by(OutboxEvent.created_at))).all()
        return [(row.subject, json.loads(row.payload)) for row in rows]


async def verbs(db: Database, cluster_id) -> list[str]:
    return [
        subject.rsplit(".", 1)[-1]
        for subject, event in await outbox(db)
        if subject.startswith("pyk8s.events.") and event["subject"] == str(cluster_id)
    ]


async def work(db: Database, cluster_id) -> list[str]:
    return [
        subject.rsplit(".", 1)[-1]
        for subject, event in await outbox(db)
        if subject.startswith("pyk8s.work.") and event["subject"] == str(cluster_id)
    ]


def create_request(actor, name="demo", provider="kind", **extra) -> c.ClusterCreateRequest:
    return c.ClusterCreateRequest(actor_id=actor, name=name, provider=provider, **extra)


async def test_create_to_ready_to_deleted(world):
    service, ops, _, db = world
    actor = uuid.uuid4()
    cluster = await service.create(create_request(actor))
    assert await work(db, cluster.id) == ["create"]
    await ops.create(cluster.id)
    ready = await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
    assert ready.status == "ready"
    await ops.create(cluster.id)  # a redelivered create changes nothing
    await service.delete(c.ClusterDeleteRequest(actor_id=actor, cluster_id=cluster.id))
    await ops.delete(cluster.id)
    await ops.delete(cluster.id)
    assert await verbs(db, cluster.id) == [
        "created",
        "provisioning",
        "ready",
        "deleting",
        "deleted",
    ]
    deleted = [data for subject, data in await outbox(db) if subject.endswith(".deleted")]
    assert deleted[0]["data"]["deleted_by"] == str(actor)
    gone = await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
    assert gone.deleted_by == actor and gone.api_server is None
    assert containers("kind", runtime_name("demo", cluster.id)) == []


@pytest.mark.parametrize(
    "provider, cut, complete",
    [
        ("kind", "{n}-worker", ["{n}-control-plane", "{n}-worker"]),
        ("k3d", "k3d-{n}-agent-0", ["k3d-{n}-agent-0", "k3d-{n}-server-0", "k3d-{n}-serverlb"]),
    ],
)
async def test_a_partial_runtime_cluster_is_made_again_not_adopted(
    world, provider, cut, complete, tmp_path
):
    service, ops, _, db = world
    actor = uuid.uuid4()
    cluster = await service.create(create_request(actor, provider=provider, workers=1))
    runtime = runtime_name("demo", cluster.id)
    driver = ops.drivers[c.Provider(provider)]
    await driver.create(CreateSpec(runtime, None, 1, tmp_path / "earlier"))
    remove_container(cut.format(n=runtime))  # an earlier attempt stopped between nodes
    await ops.create(cluster.id)
    ready = await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
    assert ready.status == "ready"
    assert containers(provider, runtime) == [name.format(n=runtime) for name in complete]
    assert await driver.missing_nodes(runtime, 1) == ()
    assert await verbs(db, cluster.id) == ["created", "provisioning", "ready"]


def kubectl(driver: KwokDriver, runtime: str, *args: str) -> str:
    argv = driver.kubectl_argv(runtime, *args)
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout


async def test_a_kwok_cluster_from_request_to_deleted(world):
    require_kwok()
    service, ops, _, db = world
    actor = uuid.uuid4()
    cluster = await service.create(create_request(actor, provider="kwok", workers=2))
    newest = installed_versions(KWOK_SETTINGS["kwok_versions_dir"])[0]
    assert cluster.kubernetes_version == newest  # none asked: the newest installed
    runtime = runtime_name("demo", cluster.id)
    driver = ops.drivers[c.Provider.KWOK]
    started = time.monotonic()
    await ops.create(cluster.id)
    to_ready = time.monotonic() - started
    ready = await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
    assert ready.status == "ready", ready.status_message
    assert ready.api_server.startswith("https://127.0.0.1:")
    assert await driver.missing_nodes(runtime, 2) == ()
    viewer = kubectl(driver, runtime, "get", "clusterrolebinding", "pyk8s:viewer", "-o", "yaml")
    assert (
        "roleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: view\n"
        in (viewer)
    )
    image = driver.shell
    driver.shell = Shell("pyk8s-lab/no-such-image:local", image.network)
    with pytest.raises(ServiceError) as no_shell:
        await service.node(c.ClusterNodeRequest(cluster_id=cluster.id))
    assert no_shell.value.code == "service_unavailable"
    assert "pyk8s-lab/no-such-image:local" in no_shell.value.message
    driver.shell = image
    node = await service.node(c.ClusterNodeRequest(cluster_id=cluster.id))
    assert node.container == f"pyk8s-kwok-{runtime}"
    await service.delete(c.ClusterDeleteRequest(actor_id=actor, cluster_id=cluster.id))
    started = time.monotonic()
    await ops.delete(cluster.id)
    to_deleted = time.monotonic() - started
    print(f"kwok (2 nodes): create -> ready {to_ready:.2f}s, delete -> deleted {to_deleted:.2f}s")
    assert await verbs(db, cluster.id) == [
        "created",
        "provisioning",
        "ready",
        "deleting",
        "deleted",
    ]
    assert kwok_processes(driver.workdir, runtime) == []
    assert not driver.cluster_dir(runtime).exists()
    assert not (ops.settings.work_dir / runtime).exists()
    shell = subprocess.run(["docker", "inspect", node.container], capture_output=True, check=False)
    assert shell.returncode != 0


@pytest.mark.parametrize("stopped", [None, "kube-controller-manager"])
async def test_a_kwok_cluster_is_adopted_only_when_whole(world, stopped, tmp_path):
    """An earlier attempt left a cluster with its node: adopted as it is when every component
    runs, made again when one is gone."""
    require_kwok()
    service, ops, _, db = world
    actor = uuid.uuid4()
    cluster = await service.create(create_request(actor, provider="kwok", workers=1))
    runtime = runtime_name("demo", cluster.id)
    driver = ops.drivers[c.Provider.KWOK]
    await driver.create(CreateSpec(runtime, cluster.kubernetes_version, 1, tmp_path / "earlier"))
    before = {p.pid for p in driver.processes(runtime)}
    if stopped:
        gone = next(p for p in driver.processes(runtime) if p.info["cmdline"][0].endswith(stopped))
        gone.kill()
        gone.wait(10)
    await ops.create(cluster.id)
    ready = await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
    assert ready.status == "ready", ready.status_message
    after = {p.pid for p in driver.processes(runtime)}
    assert len(after) == 5 and await driver.missing_nodes(runtime, 1) == ()
    assert (after == before) is (stopped is None)
    assert await verbs(db, cluster.id) == ["created", "provisioning", "ready"]


async def test_kwok_versions_are_checked_before_anything_is_queued(world, tmp_path):
    service, ops, teams, db = world
    actor = uuid.uuid4()
    absent = tmp_path / "no-kubernetes"
    elsewhere = ClusterService(
        db,
        ops.settings,
        teams,
        build_drivers(ops.settings.model_copy(update={"kwok_versions_dir": absent})),
        service.announced,
    )
    with pytest.raises(ServiceError) as not_here:
        await elsewhere.create(create_request(actor, provider="kwok"))
    assert not_here.value.code == "validation_error"
    assert not_here.value.message == (
        f"kwok is not available here: no Kubernetes binaries in {absent}; "
        "run scripts/install-k8s-tools.sh"
    )
    require_kwok()
    installed = installed_versions(KWOK_SETTINGS["kwok_versions_dir"])
    with pytest.raises(ServiceError) as refused:
        await service.create(create_request(actor, provider="kwok", kubernetes_version="v1.9.0"))
    assert refused.value.code == "validation_error"
    assert refused.value.message == (
        f"Kubernetes v1.9.0 is not offered by kwok here; available: {', '.join(installed)}"
    )
    assert refused.value.detail == {"available": list(installed)}
    assert await outbox(db) == []
    asked = await service.create(
        create_request(actor, provider="kwok", kubernetes_version=installed[-1])
    )
    assert asked.kubernetes_version == installed[-1]


async def test_bindings_that_fail_fail_the_cluster_with_their_message(world, monkeypatch):
    """kubectl without the admin kubeconfig on a kind node reaches no server: the cluster
    fails with kubectl's words and its nodes are removed."""
    service, ops, _, db = world
    driver = ops.drivers[c.Provider.KIND]
    monkeypatch.setattr(driver, "node_kubectl", lambda: ["kubectl", "apply", "-f", "-"])
    actor = uuid.uuid4()
    cluster = await service.create(create_request(actor))
    await ops.create(cluster.id)
    failed = await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
    assert failed.status == "failed"
    assert "The connection to the server localhost:8080 was refused" in failed.status_message
    assert containers("kind", runtime_name("demo", cluster.id)) == []
    assert await verbs(db, cluster.id) == ["created", "provisioning", "failed"]


async def test_a_delete_asked_during_the_create_wins(world, monkeypatch):
    service, ops, _, db = world
    monkeypatch.setenv("PYK8S_DOUBLE_CREATE_DELAY", "1")
    actor = uuid.uuid4()
    cluster = await service.create(create_request(actor, provider="k3d"))
    creating = asyncio.create_task(ops.create(cluster.id))

    async def provisioning():
        return (
            await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
        ).status == "provisioning"

    while not await provisioning():
        await asyncio.sleep(0.05)
    await service.delete(c.ClusterDeleteRequest(actor_id=actor, cluster_id=cluster.id))
    deleting = asyncio.create_task(ops.delete(cluster.id))
    await asyncio.gather(creating, deleting)
    final = await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
    assert final.status == "deleted"
    assert "ready" not in await verbs(db, cluster.id)
    assert containers("k3d", runtime_name("demo", cluster.id)) == []


async def test_creations_are_bounded(world, monkeypatch):
    service, ops, _, _ = world
    monkeypatch.setenv("PYK8S_DOUBLE_CREATE_DELAY", "0.5")
    running, most = 0, 0
    driver = ops.drivers[c.Provider.KIND]
    original = driver.create

    async def counting(spec):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            return await original(spec)
        finally:
            running -= 1

    monkeypatch.setattr(driver, "create", counting)
    actor = uuid.uuid4()
    first = await service.create(create_request(actor, "one"))
    second = await service.create(create_request(actor, "two"))
    await asyncio.gather(ops.create(first.id), ops.create(second.id))
    assert most == 1  # max_concurrent_creates=1


async def test_reconcile_resumes_work_and_removes_deleted_runtimes(world):
    service, ops, _, db = world
    actor = uuid.uuid4()
    pending = await service.create(create_request(actor, "pending"))
    gone = await service.create(create_request(actor, "gone"))
    await ops.create(gone.id)
    runtime = runtime_name("gone", gone.id)
    async with db.session() as session:  # a crash left the runtime cluster behind
        row = await session.get(Cluster, gone.id)
        row.status = "deleted"
    assert containers("kind", runtime)
    await ops.reconcile()
    assert containers("kind", runtime) == []
    assert await work(db, pending.id) == ["create", "create"]


async def test_reconcile_removes_deleted_kwok_clusters_and_their_shells(world):
    require_kwok()
    service, ops, _, db = world
    cluster = await service.create(create_request(uuid.uuid4(), provider="kwok"))
    await ops.create(cluster.id)
    node = await service.node(c.ClusterNodeRequest(cluster_id=cluster.id))
    runtime = runtime_name("demo", cluster.id)
    async with db.session() as session:  # a crash left the cluster and its shell behind
        (await session.get(Cluster, cluster.id)).status = "deleted"
    driver = ops.drivers[c.Provider.KWOK]
    assert len(kwok_processes(driver.workdir, runtime)) == 5
    await ops.reconcile()
    assert kwok_processes(driver.workdir, runtime) == []
    shell = subprocess.run(["docker", "inspect", node.container], capture_output=True, check=False)
    assert shell.returncode != 0


async def test_giving_up_says_why(world):
    service, ops, _, db = world
    actor = uuid.uuid4()
    cluster = await service.create(create_request(actor))
    await ops.give_up(cluster.id, "create", "database unavailable")
    failed = await service.get(c.ClusterRequest(actor_id=actor, cluster_id=cluster.id))
    assert (
        failed.status == "failed" and failed.status_message == "create failed: database unavailable"
    )
    assert await verbs(db, cluster.id) == ["created", "failed"]


async def test_a_taken_name_is_refused_naming_the_name_field(world):
    service, _, _, _ = world
    actor = uuid.uuid4()
    await service.create(create_request(actor, "taken"))
    with pytest.raises(ServiceError) as refused:
        await service.create(create_request(actor, "taken"))
    assert refused.value.code == "conflict"
    assert refused.value.detail == {"field": "name"}


async def test_team_rules_and_count(world):
    service, _, teams, _ = world
    member, viewer, outsider = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    teams.roles[(TEAM, member)] = Role.MEMBER
    teams.roles[(TEAM, viewer)] = Role.VIEWER
    with pytest.raises(ServiceError) as denied:
        await service.create(create_request(viewer, team_id=TEAM))
    assert denied.value.code == "forbidden"
    with pytest.raises(ServiceError) as hidden:
        await service.create(create_request(outsider, team_id=TEAM))
    assert hidden.value.code == "not_found"
    cluster = await service.create(create_request(member, team_id=TEAM))
    await service.create(create_request(member, "other", team_id=TEAM))
    with pytest.raises(ServiceError) as quota:
        await service.create(create_request(member, "third", team_id=TEAM))
    assert quota.value.code == "quota_exceeded"
    assert await service.team_count(TEAM) == 2
    for below_admin in (viewer, member):
        with pytest.raises(ServiceError) as no_admin_kubeconfig:
            request = c.ClusterRequest(actor_id=below_admin, cluster_id=cluster.id)
            await service.admin_kubeconfig(request)
        assert no_admin_kubeconfig.value.code == "forbidden"
    assert (await service.list(c.ClusterListRequest(actor_id=outsider))).clusters == []
    with pytest.raises(ServiceError) as not_theirs:
        await service.list(c.ClusterListRequest(actor_id=outsider, team_id=TEAM))
    assert not_theirs.value.code == "not_found"


async def test_expire_moves_expired_clusters_to_deleting(world):
    service, ops, _, db = world
    actor = uuid.uuid4()
    cluster = await service.create(create_request(actor))
    async with db.session() as session:
        (await session.get(Cluster, cluster.id)).expires_at = utcnow() - timedelta(minutes=1)
    assert await ops.expire() == 1
    assert await ops.expire() == 0
    assert await verbs(db, cluster.id) == ["created", "expired"]
    assert await work(db, cluster.id) == ["create", "delete"]


async def test_two_replicas_sweeping_at_once_expire_each_cluster_once(world):
    service, ops, _, db = world
    clusters = [await service.create(create_request(uuid.uuid4(), f"x{n}")) for n in range(6)]
    async with db.session() as session:
        for cluster in clusters:
            (await session.get(Cluster, cluster.id)).expires_at = utcnow() - timedelta(minutes=1)
    # Another replica: its own connections, so the two sweeps overlap in the database.
    peer_db = Database(ops.settings.database_url)
    peer = Operations(peer_db, ops.settings, ops.drivers)
    try:
        swept = await asyncio.gather(*(o.expire() for o in (ops, peer, ops, peer)))
    finally:
        await peer_db.dispose()
    assert sum(swept) == 6
    for cluster in clusters:
        assert await verbs(db, cluster.id) == ["created", "expired"]
        assert await work(db, cluster.id) == ["create", "delete"]


async def test_two_replicas_reconciling_at_once_create_the_cluster_once(world):
    service, ops, _, db = world
    cluster = await service.create(create_request(uuid.uuid4()))
    peer_db = Database(ops.settings.database_url)
    peer = Operations(peer_db, ops.settings, ops.drivers)
    try:
        # Both replicas start at once: each queues the pending create again.
        await asyncio.gather(ops.reconcile(), peer.reconcile())
        assert await work(db, cluster.id) == ["create", "create", "create"]
        # Two of those deliveries taken by the two replicas at once.
        await asyncio.gather(ops.create(cluster.id), peer.create(cluster.id))
    finally:
        await peer_db.dispose()
    assert await verbs(db, cluster.id) == ["created", "provisioning", "ready"]


def test_runtime_names_fit_k3d_and_never_collide():
    ids = [uuid.uuid4() for _ in range(50)]
    names = {runtime_name("a" * 40, i) for i in ids}
    assert len(names) == 50
    assert all(len(n) <= 32 and n.startswith("a" * 23 + "-") for n in names)
    assert runtime_name("x" * 22 + "-" + "y" * 10, ids[0]).count("--") == 0


def test_the_development_key_is_refused_outside_development():
    with pytest.raises(ValueError, match="KUBECONFIG_KEY"):
        ProvisionerSettings(environment="production")
    with pytest.raises(ValueError, match="not a Fernet key"):
        ProvisionerSettings(environment="production", kubeconfig_key="short")
    key = Fernet.generate_key().decode()
    assert ProvisionerSettings(environment="production", kubeconfig_key=key).kubeconfig_key == key
    with pytest.raises(ValueError, match="DEFAULT_TTL"):
        ProvisionerSettings(default_ttl_hours=100, max_ttl_hours=10)


def test_kubeconfig_keys_rotate():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = KubeconfigBox(old).seal("apiVersion: v1")
    assert KubeconfigBox(f"{new},{old}").open(sealed) == "apiVersion: v1"
    assert KubeconfigBox(new).open(KubeconfigBox(f"{new},{old}").seal("x")) == "x"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        KubeconfigBox(new).open(sealed)


async def test_creation_slots_bound_creations_across_replicas(world):
    _, ops, _, db = world
    other_replica = Operations(db, ops.settings, ops.drivers)
    entered = asyncio.Event()

    async def create_elsewhere() -> None:
        async with other_replica.creation_slot():
            entered.set()

    async with ops.creation_slot():  # the only slot (max_concurrent_creates=1)
        waiting = asyncio.create_task(create_elsewhere())
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(entered.wait()), 1.0)
    await asyncio.wait_for(entered.wait(), 10)
    await waiting


@pytest.mark.parametrize("provider, default", [("kind", "v1.34.0"), ("k3d", "v1.31.5")])
async def test_kind_and_k3d_versions_are_checked_before_anything_is_queued(
    world, provider, default, tmp_path
):
    service, ops, teams, db = world
    actor = uuid.uuid4()
    with pytest.raises(ServiceError) as refused:
        await service.create(create_request(actor, provider=provider, kubernetes_version="v1.99.0"))
    assert refused.value.code == "validation_error"
    assert refused.value.message.startswith(
        f"Kubernetes v1.99.0 is not offered by {provider} here; available: "
    )
    assert default in refused.value.detail["available"]
    without_cli = ClusterService(
        db,
        ops.settings,
        teams,
        build_drivers(ops.settings.model_copy(update={f"{provider}_bin": str(tmp_path / "no")})),
        service.announced,
    )
    with pytest.raises(ServiceError) as missing:
        await without_cli.create(create_request(actor, provider=provider))
    assert missing.value.message.startswith(f"{provider} is not available here: ")
    assert "command not found" in missing.value.message
    assert await outbox(db) == []
    made = await service.create(create_request(actor, provider=provider))
    assert made.kubernetes_version == default  # none asked: the CLI's default, recorded


async def test_the_providers_list_says_what_each_offers(world, tmp_path):
    service, _, _, _ = world
    offers = {offer.provider: offer for offer in (await service.providers()).providers}
    assert set(offers) == set(c.Provider)
    assert offers[c.Provider.KIND].cli_version == "v0.30.0"
    assert offers[c.Provider.K3D].default_version == "v1.31.5"
