"""Crash safety: the provisioner runs as its own process (`python -m pyk8s_provisioner`)
and is killed with SIGKILL in the middle of a create and of a delete. After a restart the
cluster ends ready / deleted, exactly one runtime cluster exists (or none), and an outside
JetStream subscriber sees each lifecycle event exactly once."""

import asyncio
import json
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import kwok_processes, remove_kwok, require_kwok
from pyk8s_contracts import clusters as c
from pyk8s_contracts import subjects
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.testing import ensure_all_streams, wait_until_async
from pyk8s_provisioner.service import runtime_name

from .conftest import children, docker_nodes, processes_mentioning

# One worker asked for: kind makes a control plane and a worker, k3d a server, an agent and
# the load balancer in front of the server.
NODES_WITH_ONE_WORKER = {
    "kind": ["{n}-control-plane", "{n}-worker"],
    "k3d": ["k3d-{n}-agent-0", "k3d-{n}-server-0", "k3d-{n}-serverlb"],
}


class Events:
    def __init__(self) -> None:
        self.seen: list[dict] = []
        self.nc = None

    async def start(self, server) -> None:
        await ensure_all_streams(server)  # the subscriber may well start before the provisioner
        self.nc = await server.connect("events")
        js = self.nc.jetstream()

        async def received(msg) -> None:
            self.seen.append(json.loads(msg.data))

        await js.subscribe(
            subjects.CLUSTER_EVENTS_ALL,
            stream=subjects.EVENTS_STREAM,
            cb=received,
            ordered_consumer=True,
        )

    def verbs(self, cluster_id: uuid.UUID) -> list[str]:
        return [e["type"].rsplit(".", 1)[-1] for e in self.seen if e["subject"] == str(cluster_id)]


async def get(nc, actor: uuid.UUID, cluster_id: uuid.UUID) -> c.Cluster | None:
    try:
        return await nc.ask(
            subjects.PROVISIONER_CLUSTER_GET,
            c.ClusterRequest(actor_id=actor, cluster_id=cluster_id),
            c.Cluster,
        )
    except ServiceError:
        return None


async def status_is(nc, actor, cluster_id, *statuses) -> bool:
    cluster = await get(nc, actor, cluster_id)
    return cluster is not None and cluster.status in statuses


@pytest.mark.parametrize("provider", ["kind", "k3d"])
async def test_killed_mid_create_and_mid_delete_loses_nothing(
    provisioner, nats_server, gateway_client, provider
):
    events = Events()
    provisioner.start(PYK8S_DOUBLE_CREATE_DELAY="30")
    nc = gateway_client
    runtime = None
    try:
        await events.start(nats_server)
        actor = uuid.uuid4()
        create = c.ClusterCreateRequest(actor_id=actor, name="crash", provider=provider, workers=1)

        async def created():
            try:
                return await nc.ask(subjects.PROVISIONER_CLUSTER_CREATE, create, c.Cluster)
            except ServiceError:
                return None  # not serving yet

        cluster = await wait_until_async(created, timeout=60, interval=0.2)
        runtime = runtime_name("crash", cluster.id)

        # The CLI has made the nodes and is still "starting" them: kill the provisioner.
        expected = [node.format(n=runtime) for node in NODES_WITH_ONE_WORKER[provider]]
        await wait_until_async(lambda: docker_nodes(provider, runtime) == expected, timeout=30)
        assert await status_is(nc, actor, cluster.id, "provisioning")
        cli = [cmd for cmd in children(provisioner.process.pid) if "create" in cmd]
        assert cli, "the create CLI should be running"
        provisioner.kill()

        provisioner.start()
        await wait_until_async(
            lambda: status_is(nc, actor, cluster.id, "ready", "failed"), timeout=60, interval=0.2
        )
        ready = await get(nc, actor, cluster.id)
        assert ready.status == "ready", (ready.status_message, provisioner.logs())
        assert docker_nodes(provider, runtime, "running") == expected  # adopted, not made twice
        await wait_until_async(lambda: "ready" in events.verbs(cluster.id), timeout=30)

        # Now kill it while the CLI deletes.
        provisioner.kill()
        provisioner.start(PYK8S_DOUBLE_DELETE_DELAY="30")
        delete = c.ClusterRequest(actor_id=actor, cluster_id=cluster.id)
        await wait_until_async(lambda: status_is(nc, actor, cluster.id, "ready"), timeout=60)
        await nc.ask(subjects.PROVISIONER_CLUSTER_DELETE, delete, c.Cluster)
        await wait_until_async(
            lambda: any("delete" in cmd for cmd in children(provisioner.process.pid)), timeout=30
        )
        provisioner.kill()
        assert await status_is(nc, actor, cluster.id, "deleting") is False  # nobody answers
        provisioner.start()
        await wait_until_async(
            lambda: status_is(nc, actor, cluster.id, "deleted"), timeout=60, interval=0.2
        )
        assert docker_nodes(provider, runtime) == []
        await wait_until_async(lambda: "deleted" in events.verbs(cluster.id), timeout=30)

        assert_whole_lifecycle_once(events, cluster.id)
    finally:
        await clean_up(events, provider, runtime)


def assert_whole_lifecycle_once(events: Events, cluster_id: uuid.UUID) -> None:
    assert events.verbs(cluster_id) == ["created", "provisioning", "ready", "deleting", "deleted"]
    ids = [e["id"] for e in events.seen]
    assert len(ids) == len(set(ids))


async def clean_up(events: Events, provider: str, runtime: str | None) -> None:
    if events.nc:
        await events.nc.close()
    names = docker_nodes(provider, runtime) if runtime else []
    if names:
        await asyncio.to_thread(
            subprocess.run, ["docker", "rm", "-f", *names], capture_output=True, check=False
        )


async def create_when_served(nc, request: c.ClusterCreateRequest) -> c.Cluster:
    async def created():
        try:
            return await nc.ask(subjects.PROVISIONER_CLUSTER_CREATE, request, c.Cluster)
        except ServiceError:
            return None  # not serving yet

    return await wait_until_async(created, timeout=60, interval=0.2)


@pytest.mark.parametrize("provider", ["kind", "k3d"])
async def test_killed_between_nodes_the_cluster_is_made_whole(
    provisioner, nats_server, gateway_client, provider
):
    """The CLI dies with the provisioner after the first node: the restarted provisioner does
    not adopt that cluster as ready but makes it again with every node."""
    events = Events()
    provisioner.start(PYK8S_DOUBLE_HALT_AFTER_NODES="1")
    nc = gateway_client
    runtime = None
    try:
        await events.start(nats_server)
        actor = uuid.uuid4()
        create = c.ClusterCreateRequest(actor_id=actor, name="cut", provider=provider, workers=1)
        cluster = await create_when_served(nc, create)
        runtime = runtime_name("cut", cluster.id)
        await wait_until_async(lambda: len(docker_nodes(provider, runtime)) == 1, timeout=30)
        provisioner.kill()
        await wait_until_async(lambda: processes_mentioning(runtime) == [], timeout=10)
        assert len(docker_nodes(provider, runtime)) == 1

        provisioner.start()
        await wait_until_async(
            lambda: status_is(nc, actor, cluster.id, "ready", "failed"), timeout=60, interval=0.2
        )
        ready = await get(nc, actor, cluster.id)
        assert ready.status == "ready", (ready.status_message, provisioner.logs())
        expected = [node.format(n=runtime) for node in NODES_WITH_ONE_WORKER[provider]]
        assert docker_nodes(provider, runtime, "running") == expected
        assert docker_nodes(provider, runtime) == expected
        assert f"removing incomplete runtime cluster {runtime}" in provisioner.full_logs()
        await wait_until_async(lambda: "ready" in events.verbs(cluster.id), timeout=30)

        await nc.ask(
            subjects.PROVISIONER_CLUSTER_DELETE,
            c.ClusterRequest(actor_id=actor, cluster_id=cluster.id),
            c.Cluster,
        )
        await wait_until_async(lambda: "deleted" in events.verbs(cluster.id), timeout=60)
        assert docker_nodes(provider, runtime) == []
        assert_whole_lifecycle_once(events, cluster.id)
    finally:
        await clean_up(events, provider, runtime)


async def test_kwok_killed_mid_create_when_ready_and_mid_delete_loses_nothing(
    provisioner, nats_server, gateway_client
):
    """kwok runs for real (its create cannot be held like a double's): the provisioner is
    killed while kwokctl starts the components, again once the cluster is ready, and right
    after a delete is accepted. The components outlive each kill, as kind's containers do."""
    require_kwok()
    events = Events()
    provisioner.start()
    nc = gateway_client
    kwok_workdir = Path(provisioner.env["PROVISIONER_WORK_DIR"]) / "kwok"
    runtime = None
    try:
        await events.start(nats_server)
        actor = uuid.uuid4()
        create = c.ClusterCreateRequest(actor_id=actor, name="crash", provider="kwok", workers=1)
        cluster = await create_when_served(nc, create)
        runtime = runtime_name("crash", cluster.id)
        pid_files = kwok_workdir / "clusters" / runtime / "pids"

        def mid_create() -> bool:
            creating = any("create" in cmd for cmd in children(provisioner.process.pid))
            return creating and any(pid_files.glob("*.pid"))

        await wait_until_async(mid_create, timeout=30, interval=0.02)
        started = kwok_processes(kwok_workdir, runtime)
        provisioner.kill()
        assert started and all(process.is_running() for process in started)

        provisioner.start()
        await wait_until_async(
            lambda: status_is(nc, actor, cluster.id, "ready", "failed"), timeout=60, interval=0.2
        )
        ready = await get(nc, actor, cluster.id)
        assert ready.status == "ready", (ready.status_message, provisioner.logs())
        assert f"removing incomplete runtime cluster {runtime}" in provisioner.full_logs()
        running = {process.pid for process in kwok_processes(kwok_workdir, runtime)}
        assert len(running) == 5
        await wait_until_async(lambda: "ready" in events.verbs(cluster.id), timeout=30)

        provisioner.kill()
        provisioner.start()
        await wait_until_async(lambda: status_is(nc, actor, cluster.id, "ready"), timeout=60)
        assert {process.pid for process in kwok_processes(kwok_workdir, runtime)} == running

        delete = c.ClusterRequest(actor_id=actor, cluster_id=cluster.id)
        await nc.ask(subjects.PROVISIONER_CLUSTER_DELETE, delete, c.Cluster)
        provisioner.kill()
        provisioner.start()
        await wait_until_async(
            lambda: status_is(nc, actor, cluster.id, "deleted"), timeout=60, interval=0.2
        )
        assert kwok_processes(kwok_workdir, runtime) == []
        assert not (kwok_workdir / "clusters" / runtime).exists()
        await wait_until_async(lambda: "deleted" in events.verbs(cluster.id), timeout=30)
        assert_whole_lifecycle_once(events, cluster.id)
    finally:
        if events.nc:
            await events.nc.close()
        if runtime:
            remove_kwok(kwok_workdir, runtime)
