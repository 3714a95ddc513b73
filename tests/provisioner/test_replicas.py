"""Two provisioner processes share the durable work consumer: every queued create is done
once, by one of them, and each cluster is announced ready exactly once."""

import json
import uuid

from pyk8s_contracts import clusters as c
from pyk8s_contracts import subjects
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.testing import ensure_all_streams, wait_until_async
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.service import runtime_name

from .conftest import ProvisionerProcess, docker_nodes, provisioner_env, remove_nodes

# kind: the control plane; k3d: the server and its load balancer.
NODES_WITHOUT_WORKERS = {"kind": 1, "k3d": 2}


async def test_replicas_share_the_work(make_database, nats_server, gateway_client, tmp_path):
    env = provisioner_env(make_database("provisioner", MIGRATIONS), nats_server, tmp_path / "work")
    env.update(
        PROVISIONER_WORKERS="1",
        PROVISIONER_MAX_CONCURRENT_CREATES="1",
        PROVISIONER_PERSONAL_QUOTA="10",
        PYK8S_DOUBLE_CREATE_DELAY="1",
    )
    replicas = []
    for index in range(2):
        (tmp_path / f"r{index}").mkdir()
        replicas.append(ProvisionerProcess(env, tmp_path / f"r{index}"))
    await ensure_all_streams(nats_server)
    nc = gateway_client
    events_nc = await nats_server.connect("events")
    js = events_nc.jetstream()
    seen: list[dict] = []

    async def received(msg) -> None:
        seen.append(json.loads(msg.data))

    await js.subscribe(
        subjects.CLUSTER_EVENTS_ALL,
        stream=subjects.EVENTS_STREAM,
        cb=received,
        ordered_consumer=True,
    )
    actor = uuid.uuid4()
    made: list[tuple[str, str]] = []
    try:
        for replica in replicas:
            replica.start()

        async def create(name: str, provider: str):
            payload = c.ClusterCreateRequest(actor_id=actor, name=name, provider=provider)
            try:
                return await nc.ask(subjects.PROVISIONER_CLUSTER_CREATE, payload, c.Cluster)
            except ServiceError:
                return None

        clusters = []
        for index in range(4):
            provider = ("kind", "k3d")[index % 2]
            cluster = await wait_until_async(
                lambda i=index, p=provider: create(f"r{i}", p), timeout=60, interval=0.2
            )
            clusters.append(cluster)
            made.append((provider, runtime_name(f"r{index}", cluster.id)))

        def ready_ids():
            return [e["subject"] for e in seen if e["type"] == "io.pyk8s.cluster.ready"]

        await wait_until_async(lambda: len(ready_ids()) == 4, timeout=60, interval=0.1)
        assert sorted(ready_ids()) == sorted(str(cl.id) for cl in clusters)
        for provider, runtime in made:
            assert len(docker_nodes(provider, runtime)) == NODES_WITHOUT_WORKERS[provider]
        creators = [replica.full_logs().count("creating ") for replica in replicas]
        assert sum(creators) == 4 and all(creators), creators
    finally:
        for replica in replicas:
            replica.stop()
        await events_nc.close()
        for provider, runtime in made:
            remove_nodes(provider, runtime)
