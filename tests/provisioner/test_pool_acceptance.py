"""Issue 14's acceptance run: a pool of two Docker hosts with two provisioner replicas each, on
a three-node NATS cluster whose streams (and the hosts bucket) have three replicas.

20 clusters are created (kind and k3d test doubles) and spread over both hosts with their
placement recorded; half-way through, the NATS node that leads PYK8S_EVENTS and carries the
test's requests is SIGKILLed. Then both of host-b's replicas are killed: its clusters turn
`unreachable` while creates go on on host-a; restarted, they bring them back `ready`. Drained,
host-b takes nothing new. All along an outside program (the `events` identity, its own durable
consumer) reads the cluster events: none lost, none twice, each cluster's lifecycle exactly as
it happened. Test traffic stays on loopback and the two engines' local sockets."""

import asyncio
import json
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig

from conftest import AuthKeysDouble, GatewayClient
from pyk8s_contracts import clusters as c
from pyk8s_contracts import hosts as hosts_contract
from pyk8s_contracts import subjects
from pyk8s_contracts.auth import PLATFORM_ADMIN_CLAIM
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.embedded import EmbeddedNatsCluster
from pyk8s_kit.testing import ensure_all_streams, move_stream_leader, wait_until_async
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.service import runtime_name

from .conftest import (
    NoTeamsDouble,
    ProvisionerProcess,
    local_nodes,
    provisioner_env,
    remove_nodes,
)

HOSTS = ("host-a", "host-b")
REPLICAS_PER_HOST = 2
CLUSTERS = 20
KILL_NATS_AFTER = 10
# Announcements every 0.5 s; a host is silent after 15 s without one. Longer than a NATS
# failover (a stream's new leader is elected 4 to 9 s after the old one dies, and the hosts
# bucket is such a stream): a shorter deadline would let the announcements of live hosts expire
# during the failover and turn their clusters unreachable for nothing.
TIMING = {
    "PROVISIONER_HOST_ANNOUNCE_INTERVAL_SECONDS": "0.5",
    "PROVISIONER_HOST_DEADLINE_SECONDS": "15",
}
ACK_WAIT_SECONDS = 10
# Each cluster's events, in order: every one is created and made ready once; host-b's first
# clusters also went unreachable and came back.
LIFECYCLE = ["created", "provisioning", "ready"]
WENT_AWAY_AND_BACK = [*LIFECYCLE, "unreachable", "ready"]


@dataclass
class OutsideSubscriber:
    """An outside program reading the cluster events with the `events` identity and its own
    durable consumer (R3, like the stream), acknowledging each with the server's confirmation,
    retried through the failover (see tests/faults/test_nats_node_loss.py)."""

    cluster: EmbeddedNatsCluster
    ids: list[str] = field(default_factory=list)
    fetch_errors: Counter = field(default_factory=Counter)
    stopped: bool = False

    async def run(self) -> None:
        nc = await self.cluster.connect("events", name="pool-subscriber")
        try:
            consumer = await nc.jetstream().pull_subscribe(
                subjects.CLUSTER_EVENTS_ALL,
                durable="pool-acceptance",
                stream=subjects.EVENTS_STREAM,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ACK_WAIT_SECONDS),
            )
            while not self.stopped:
                try:
                    batch = await consumer.fetch(50, timeout=1)
                except (NatsTimeout, TimeoutError):
                    continue
                except NatsError as error:
                    self.fetch_errors[type(error).__name__] += 1
                    await asyncio.sleep(0.1)
                    continue
                for msg in batch:
                    self.ids.append(json.loads(msg.data)["id"])
                    await wait_until_async(lambda m=msg: acknowledged(m), timeout=30, interval=0.1)
        finally:
            await nc.close()


async def acknowledged(msg) -> bool:
    try:
        await msg.ack_sync(timeout=2)
        return True
    except (NatsError, TimeoutError):
        return False


async def stream_events(cluster: EmbeddedNatsCluster) -> list[dict]:
    """Every cluster event in the stream, read afresh to its end."""
    nc = await cluster.connect("events")
    sub = await nc.jetstream().subscribe(
        subjects.CLUSTER_EVENTS_ALL, stream=subjects.EVENTS_STREAM, ordered_consumer=True
    )
    try:
        events = []
        while True:
            msg = await sub.next_msg(timeout=10)
            events.append(json.loads(msg.data))
            if msg.metadata.num_pending == 0:
                return events
    finally:
        await sub.unsubscribe()
        await nc.close()


async def test_a_pool_of_two_hosts_on_a_nats_cluster(
    make_database, nats_cluster: EmbeddedNatsCluster, second_docker, tmp_path
):
    env = provisioner_env(make_database("provisioner", MIGRATIONS), nats_cluster, tmp_path / "w")
    env.update(
        TIMING,
        PROVISIONER_NATS_STREAM_REPLICAS="3",
        PROVISIONER_PERSONAL_QUOTA="30",
        PROVISIONER_WORKERS="2",
        PROVISIONER_MAX_CONCURRENT_CREATES="4",
        # Not the engine's total: 24 clusters' estimates exceed this machine's memory.
        PROVISIONER_HOST_MEMORY_MB="65536",
    )
    env.pop("DOCKER_HOST", None)
    replicas: dict[str, list[ProvisionerProcess]] = {}
    for host_id, extra in zip(HOSTS, ({}, {"DOCKER_HOST": second_docker.host}), strict=True):
        replicas[host_id] = []
        for index in range(REPLICAS_PER_HOST):
            folder = tmp_path / f"{host_id}-{index}"
            folder.mkdir()
            settings = {
                **env,
                **extra,
                "PROVISIONER_HOST_ID": host_id,
                "PROVISIONER_WORK_DIR": str(folder / "work"),
            }
            replicas[host_id].append(ProvisionerProcess(settings, folder))
    await ensure_all_streams(nats_cluster, replicas=3)
    keys = await AuthKeysDouble().start(nats_cluster)
    teams = await NoTeamsDouble().start(nats_cluster)
    client = GatewayClient(await nats_cluster.connect("gateway"), keys)
    actor = uuid.uuid4()
    admin = uuid.uuid4()
    admin_token = keys.assertion(admin, **{PLATFORM_ADMIN_CLAIM: True})
    made: dict[uuid.UUID, tuple[str, str, str]] = {}  # id: (host, provider, runtime)
    subscriber = OutsideSubscriber(nats_cluster)
    reading: asyncio.Task | None = None

    async def by_name(name: str) -> c.Cluster | None:
        listed = await client.ask(
            subjects.PROVISIONER_CLUSTER_LIST, c.ClusterListRequest(actor_id=actor), c.ClusterList
        )
        return next((cluster for cluster in listed.clusters if cluster.name == name), None)

    async def create(name: str, provider: str) -> c.Cluster:
        """Asked until answered: through the failover a request may go unanswered although
        the cluster was made (the retry then meets its name: it is that one)."""

        async def attempt() -> c.Cluster | None:
            payload = c.ClusterCreateRequest(actor_id=actor, name=name, provider=provider)
            try:
                return await client.ask(subjects.PROVISIONER_CLUSTER_CREATE, payload, c.Cluster)
            except ServiceError as error:
                if error.code == ErrorCode.CONFLICT:
                    return await by_name(name)
                assert error.code == ErrorCode.UNAVAILABLE, error
                return None

        cluster = await wait_until_async(attempt, timeout=60, interval=0.2)
        made[cluster.id] = (cluster.host_id, provider, runtime_name(name, cluster.id))
        return cluster

    async def statuses() -> dict[uuid.UUID, str]:
        try:
            listed = await client.ask(
                subjects.PROVISIONER_CLUSTER_LIST,
                c.ClusterListRequest(actor_id=actor),
                c.ClusterList,
            )
        except ServiceError as error:
            assert error.code == ErrorCode.UNAVAILABLE, error
            return {}
        return {cluster.id: cluster.status for cluster in listed.clusters}

    async def all_are(ids, status) -> bool:
        current = await statuses()
        return all(current.get(i) == status for i in ids)

    async def wait_all(ids, status: str, timeout: float) -> None:
        try:
            await wait_until_async(lambda: all_are(ids, status), timeout=timeout, interval=0.2)
        except AssertionError:
            current = await statuses()
            others = {made[i][2]: current.get(i) for i in ids if current.get(i) != status}
            raise AssertionError(f"not {status} within {timeout}s: {others}") from None

    async def reachable_hosts() -> set[str]:
        payload = hosts_contract.HostListRequest(actor_id=admin)
        try:
            listed = await client.ask(
                subjects.PROVISIONER_HOST_LIST, payload, hosts_contract.HostList, actor=admin_token
            )
        except ServiceError:  # not serving yet
            return set()
        return {h.id for h in listed.hosts if h.reachable}

    async def both_announce() -> bool:
        return await reachable_hosts() == set(HOSTS)

    def on(host_id: str) -> list[uuid.UUID]:
        return [i for i, (host, _, _) in made.items() if host == host_id]

    try:
        for process in [p for processes in replicas.values() for p in processes]:
            process.start()
        await wait_until_async(both_announce, timeout=90, interval=0.2)
        reading = asyncio.create_task(subscriber.run())

        # The node carrying the test's requests leads the events stream when it dies.
        victim = next(n for n in nats_cluster.nodes if n.port == client.nc.connected_url.port)
        await move_stream_leader(nats_cluster, subjects.EVENTS_STREAM, victim.server_name)
        started = time.monotonic()
        for index in range(CLUSTERS):
            if index == KILL_NATS_AFTER:
                victim.kill()
                nats_killed = time.monotonic()
            await create(f"pool{index}", ("kind", "k3d")[index % 2])
        creates_after_kill = time.monotonic() - nats_killed
        await wait_all(list(made), "ready", 150)
        to_ready = time.monotonic() - started
        placed = Counter(host for host, _, _ in made.values())
        assert placed == {"host-a": CLUSTERS // 2, "host-b": CLUSTERS // 2}, placed
        for host, provider, runtime in made.values():
            on_b = second_docker.nodes(provider, runtime)
            on_a = local_nodes(provider, runtime)
            assert (bool(on_a), bool(on_b)) == (host == "host-a", host == "host-b"), runtime

        # Both of host-b's replicas die: its clusters turn unreachable, creates go on on host-a.
        first_on_b = on("host-b")
        for process in replicas["host-b"]:
            process.kill()
        killed = time.monotonic()
        await wait_all(first_on_b, "unreachable", 40)
        to_unreachable = time.monotonic() - killed
        later = await asyncio.gather(*(create(f"later{i}", "kind") for i in range(2)))
        assert [cluster.host_id for cluster in later] == ["host-a", "host-a"]
        await wait_all(on("host-a"), "ready", 60)

        for process in replicas["host-b"]:
            process.start()
        restarted = time.monotonic()
        await wait_all(first_on_b, "ready", 60)
        to_ready_again = time.monotonic() - restarted

        drain = hosts_contract.HostRequest(actor_id=admin, host_id="host-b")
        drained = await client.ask(
            subjects.PROVISIONER_HOST_DRAIN, drain, hosts_contract.Host, actor=admin_token
        )
        assert drained.drained and drained.clusters == CLUSTERS // 2
        after_drain = [await create(f"drained{i}", "k3d") for i in range(2)]
        assert {cluster.host_id for cluster in after_drain} == {"host-a"}
        assert on("host-b") == first_on_b
        await wait_all(list(made), "ready", 60)

        # The outside subscriber got every event of the run, once.
        events = await stream_events(nats_cluster)
        await wait_until_async(lambda: len(subscriber.ids) >= len(events), timeout=40)
        subscriber.stopped = True
        await reading
        assert len(subscriber.ids) == len(set(subscriber.ids)), "an event delivered twice"
        assert set(subscriber.ids) == {event["id"] for event in events}, "an event lost"
        lifecycles: dict[str, list[str]] = {}
        for event in events:
            lifecycles.setdefault(event["subject"], []).append(event["type"].rsplit(".", 1)[-1])
        assert lifecycles == {
            str(i): WENT_AWAY_AND_BACK if i in first_on_b else LIFECYCLE for i in made
        }
        print(
            f"{CLUSTERS} clusters ready on two hosts in {to_ready:.1f}s, placed {dict(placed)} "
            f"(the last {CLUSTERS - KILL_NATS_AFTER} asked in {creates_after_kill:.1f}s after "
            f"{victim.server_name} was killed); host-b's {len(first_on_b)} unreachable "
            f"{to_unreachable:.1f}s after its replicas were killed, ready {to_ready_again:.1f}s "
            f"after their restart; subscriber: {len(subscriber.ids)} events, 0 lost, 0 twice, "
            f"fetches failed {dict(subscriber.fetch_errors)}; final placement "
            f"{dict(Counter(host for host, _, _ in made.values()))}"
        )
    finally:
        subscriber.stopped = True
        if reading is not None:
            await asyncio.gather(reading, return_exceptions=True)
        for process in [p for processes in replicas.values() for p in processes]:
            process.stop()
        await client.close()
        await keys.stop()
        await teams.stop()
        for host, provider, runtime in made.values():
            if host == "host-a":
                remove_nodes(provider, runtime)
