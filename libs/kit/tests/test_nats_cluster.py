"""A NATS cluster of three from the nats-server wheel: every stream replicated on every node
(created so, or scaled up from one replica), clients failing over to a live node, a node that
comes back catching up, and route ports that admit only nodes with the cluster's password."""

import json
import time
import urllib.request
from urllib.parse import urlparse

import pytest
from nats.aio.client import Server
from nats.errors import Error as NatsError

from pyk8s_contracts import subjects
from pyk8s_kit import natsauth
from pyk8s_kit.embedded import EmbeddedNats, EmbeddedNatsCluster, free_port
from pyk8s_kit.testing import (
    HARNESS,
    HARNESS_PERMISSIONS,
    OPERATOR,
    ensure_all_streams,
    move_stream_leader,
    replicated,
    wait_until,
    wait_until_async,
)

from .test_natsauth import self_signed

ALL_STREAMS = (subjects.EVENTS_STREAM, subjects.SIGNUPS_STREAM, subjects.WORK_STREAM)
# The harness identity's own stream, for tests that publish and read freely.
TEST_STREAM = "TEST"


def peers(info) -> set[str]:
    return {info.cluster.leader, *(peer.name for peer in info.cluster.replicas)}


async def test_every_stream_is_created_with_three_replicas_one_on_each_node(nats_cluster):
    await ensure_all_streams(nats_cluster, replicas=3)
    nc = await nats_cluster.connect(OPERATOR)
    try:
        js = nc.jetstream()
        names = {node.server_name for node in nats_cluster.nodes}
        for stream in ALL_STREAMS:
            info = await wait_until_async(lambda s=stream: replicated(js, s), timeout=30)
            assert info.config.num_replicas == 3, stream
            assert peers(info) == names, stream
    finally:
        await nc.close()


async def test_existing_streams_are_scaled_to_the_new_count_and_keep_their_messages(
    nats_cluster,
):
    await ensure_all_streams(nats_cluster, replicas=1)
    harness = await nats_cluster.connect(HARNESS)
    js = harness.jetstream()
    try:
        await js.add_stream(name=TEST_STREAM, subjects=["test.>"], num_replicas=1)
        for index in range(20):
            await js.publish("test.kept", str(index).encode(), headers={"Nats-Msg-Id": str(index)})
        await js.add_consumer(TEST_STREAM, name="reader", durable_name="reader")
        # What a service does at start-up, twice: the second time changes nothing.
        await ensure_all_streams(nats_cluster, replicas=3)
        await ensure_all_streams(nats_cluster, replicas=3)
        await js.update_stream(name=TEST_STREAM, subjects=["test.>"], num_replicas=3)

        operator = await nats_cluster.connect(OPERATOR)
        try:
            for stream in ALL_STREAMS:
                info = await wait_until_async(
                    lambda s=stream: replicated(operator.jetstream(), s), timeout=30
                )
                assert info.config.num_replicas == 3, stream
        finally:
            await operator.close()
        info = await wait_until_async(lambda: replicated(js, TEST_STREAM), timeout=30)
        assert info.state.messages == 20
        # A durable consumer that inherits its stream's count follows it to three nodes.
        consumer = await wait_until_async(
            lambda: consumer_on_three_nodes(js, TEST_STREAM, "reader"), timeout=30
        )
        assert consumer.num_pending == 20
    finally:
        await harness.close()


async def consumer_on_three_nodes(js, stream: str, name: str):
    info = await js.consumer_info(stream, name)
    cluster = info.cluster
    if cluster and cluster.leader and len(cluster.replicas or []) == 2:
        return info
    return None


async def test_a_client_fails_over_to_a_live_node_and_a_restarted_node_catches_up(
    nats_cluster,
):
    harness = await nats_cluster.connect(HARNESS)
    js = harness.jetstream()
    try:
        await js.add_stream(name=TEST_STREAM, subjects=["test.>"], num_replicas=3)
        await wait_until_async(lambda: replicated(js, TEST_STREAM), timeout=30)
        victim = node_of(nats_cluster, harness)
        victim.kill()
        killed = time.monotonic()
        # Published through whichever node the client reaches, to the leader of the moment.
        for index in range(50):
            await publish_until_acked(js, f"test.{index}", index)
        print(f"first 50 acks {time.monotonic() - killed:.2f}s after the kill")
        assert node_of(nats_cluster, harness) is not victim

        nats_cluster.restart(victim)
        info = await wait_until_async(lambda: replicated(js, TEST_STREAM), timeout=30)
        assert info.state.messages == 50
        # Led by the restarted node, the stream still has every message: it caught up.
        await move_stream_leader(nats_cluster, TEST_STREAM, victim.server_name)
        assert await read_all(js, TEST_STREAM) == [str(index) for index in range(50)]
    finally:
        await harness.close()


def node_of(cluster: EmbeddedNatsCluster, nc) -> EmbeddedNats:
    port = nc.connected_url.port
    return next(node for node in cluster.nodes if node.port == port)


async def publish_until_acked(js, subject: str, index: int, timeout: float = 30) -> None:
    """Publishes with a message id until JetStream acknowledges it, as the outbox relay does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            ack = await js.publish(
                subject, str(index).encode(), headers={"Nats-Msg-Id": str(index)}, timeout=2
            )
            assert ack.seq
            return
        except (NatsError, TimeoutError):
            if time.monotonic() > deadline:
                raise


async def read_all(js, stream: str) -> list[str]:
    sub = await js.subscribe("test.>", stream=stream, ordered_consumer=True)
    try:
        values = []
        while True:
            msg = await sub.next_msg(timeout=10)
            values.append(msg.data.decode())
            if msg.metadata.num_pending == 0:
                return values
    finally:
        await sub.unsubscribe()


def test_reconnects_try_each_server_once_at_once_then_wait_with_jitter():
    servers = [Server(uri=urlparse(f"nats://127.0.0.1:{port}")) for port in (1, 2, 3)]
    reconnects = natsauth.Reconnects()
    first_pass = [reconnects(servers, {}) for _ in servers]
    assert {server.uri.port for server, _ in first_pass} == {1, 2, 3}
    assert [delay for _, delay in first_pass] == [0, 0, 0]
    waits = [reconnects(servers, {})[1] for _ in range(30)]
    low = natsauth.RECONNECT_WAIT_SECONDS
    high = low + natsauth.RECONNECT_JITTER_SECONDS
    later = [delay for delay in waits if delay]
    assert all(low <= delay <= high for delay in later)
    assert len(set(later)) > 1, "no jitter"


def test_the_url_setting_lists_a_cluster_separated_by_commas():
    assert natsauth.server_list("nats://a:4222, nats://b:4222,,nats://c:4222") == [
        "nats://a:4222",
        "nats://b:4222",
        "nats://c:4222",
    ]
    assert natsauth.server_list("tls://one:4222") == ["tls://one:4222"]


@pytest.mark.parametrize("password_known", [False, True], ids=["wrong-password", "password"])
async def test_a_route_port_admits_only_servers_with_the_cluster_password(
    nats_cluster, tmp_path, password_known
):
    """A server of ours, with open client access, routes to the cluster: with the cluster's
    password it joins and its clients read the platform's traffic, which is why the route
    port needs one; without it the node refuses the route."""
    password = nats_cluster.nodes[0].cluster.password if password_known else "guessed"
    target = nats_cluster.nodes[0]
    rogue_port = free_port()
    rogue_dir = tmp_path / "rogue"
    rogue_dir.mkdir()
    config = {
        "host": "127.0.0.1",
        "port": rogue_port,
        "server_name": "rogue",
        "cluster": {
            "name": nats_cluster.name,
            "listen": f"127.0.0.1:{free_port()}",
            "routes": [f"nats-route://route:{password}@127.0.0.1:{target.route_port}"],
        },
    }
    natsauth.write_config(rogue_dir / "server.json", config)
    rogue = EmbeddedNats(rogue_dir, {}, port=rogue_port)
    rogue.prepare = lambda: None  # the configuration above, not one of ours
    rogue.start()
    try:
        if password_known:
            wait_until(lambda: "rogue" in route_names(target), timeout=15)
        else:
            log = rogue.log_file
            wait_until(lambda: "authorization violation" in log.read_text().lower(), timeout=15)
            assert "rogue" not in route_names(target)
    finally:
        rogue.stop()


def monitor(node: EmbeddedNats, endpoint: str) -> dict:
    """What the node's monitoring port says at `endpoint` (varz, routez, ...)."""
    url = f"http://127.0.0.1:{node.monitor_port}/{endpoint}"
    with urllib.request.urlopen(url, timeout=2) as answer:
        return json.load(answer)


def route_names(node: EmbeddedNats) -> set[str]:
    return {route.get("remote_name", "") for route in monitor(node, "routez")["routes"] or []}


async def test_a_tls_cluster_serves_clients_and_routes_over_tls(tmp_path, nats_seeds):
    cert, key = self_signed(tmp_path)
    cluster = EmbeddedNatsCluster(
        tmp_path / "cluster", nats_seeds, extra={HARNESS: HARNESS_PERMISSIONS}, tls=(cert, key)
    ).start()
    try:
        assert all(url.startswith("tls://") for url in natsauth.server_list(cluster.url))
        nc = await natsauth.connect(cluster.url, HARNESS, nats_seeds[HARNESS], tls_ca=str(cert))
        js = nc.jetstream()
        await js.add_stream(name=TEST_STREAM, subjects=["test.>"], num_replicas=3)
        await wait_until_async(lambda: replicated(js, TEST_STREAM), timeout=30)
        await nc.close()
        # Replicated, so the routes work; over mutual TLS, as each node reports.
        for node in cluster.nodes:
            routes = monitor(node, "varz")["cluster"]
            assert routes["tls_required"] and routes["tls_verify"], node.server_name
        plain = cluster.nodes[0].url.replace("tls://", "nats://")
        with pytest.raises((NatsError, OSError)):
            await natsauth.connect(
                plain, HARNESS, nats_seeds[HARNESS], allow_reconnect=False, max_reconnect_attempts=0
            )
    finally:
        cluster.stop()
