"""Issue 14's acceptance run: a pool of two Docker hosts with two provisioner replicas each,
and two replicas each of auth, teams, the terminal service and the gateway, on a three-node
NATS cluster whose streams (and the hosts bucket) have three replicas. Every request goes
through the gateways' REST and WebSocket API, alternating between the two, with the tokens of
people signed up through them.

20 clusters are created (kind and k3d test doubles) and spread over both hosts with their
placement recorded; half-way through, the NATS node that leads PYK8S_EVENTS is SIGKILLed.
Shells on a cluster of each host answer, until both terminal replicas have served one.
Then both of host-b's provisioner replicas are killed: its clusters turn `unreachable` while
creates go on on host-a; restarted, they bring them back `ready`. Drained, host-b takes
nothing new. All along an outside program (the `events` identity, its own durable consumer)
reads the cluster events: none lost, none twice, each cluster's lifecycle exactly as it
happened. Test traffic stays on loopback and the two engines' local sockets."""

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass

import httpx

from gateway.tests.test_terminal import open_shell
from pyk8s_auth.main import MIGRATIONS as AUTH_MIGRATIONS
from pyk8s_contracts import subjects
from pyk8s_kit.embedded import EmbeddedNatsCluster, free_port
from pyk8s_kit.testing import (
    OPERATOR,
    OutsideSubscriber,
    ensure_all_streams,
    move_stream_leader,
    stream_events,
    wait_until_async,
)
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.service import runtime_name
from pyk8s_teams.main import MIGRATIONS as TEAMS_MIGRATIONS
from pyk8s_terminal.main import MIGRATIONS as TERMINAL_MIGRATIONS

from .conftest import (
    ProvisionerProcess,
    ServiceProcess,
    local_nodes,
    provisioner_env,
    remove_nodes,
)

HOSTS = ("host-a", "host-b")
ADMIN = "pooladmin"
PW = "correct horse battery"
REPLICAS_PER_HOST = 2
CLUSTERS = 20
KILL_NATS_AFTER = 10
# Announcements every 0.5 s; a host is silent after 15 s without one. Longer than a NATS
# failover (a stream's new leader is elected 4 to 9 s after the old one dies, and the hosts
# bucket is such a stream): a shorter deadline would let the announcements of live hosts expire
# during the failover and turn their clusters unreachable for nothing (the settings refuse
# less than 11 s here, see `host_deadline_floor`).
TIMING = {
    "PROVISIONER_HOST_ANNOUNCE_INTERVAL_SECONDS": "0.5",
    "PROVISIONER_HOST_DEADLINE_SECONDS": "15",
}
# Each cluster's events, in order: every one is created and made ready once; host-b's first
# clusters also went unreachable and came back.
LIFECYCLE = ["created", "provisioning", "ready"]
WENT_AWAY_AND_BACK = [*LIFECYCLE, "unreachable", "ready"]


def service_env(name: str, nats: EmbeddedNatsCluster, **settings: str) -> dict[str, str]:
    """What a deployment gives component `name`: the cluster's server list, its own
    identity, three replicas for the streams it owns."""
    prefix = name.upper()
    return {
        **os.environ,
        f"{prefix}_ENVIRONMENT": "test",
        f"{prefix}_NATS_URL": nats.url,
        f"{prefix}_NATS_CREDENTIALS": str(nats.seeds[name]),
        f"{prefix}_NATS_STREAM_REPLICAS": "3",
        f"{prefix}_LOG_LEVEL": "INFO",
        **{f"{prefix}_{key.upper()}": value for key, value in settings.items()},
    }


def control_plane(
    nats: EmbeddedNatsCluster, databases: dict[str, str], tmp_path
) -> tuple[list[ServiceProcess], list[str], list[str]]:
    """Two replicas each of auth, teams, the terminal service and the gateway (each service's
    replicas share its database); returns them, the URLs that answer their readiness, and the
    gateways' URLs. The terminal service's own engine is this machine's (host-a's), as its
    default `TERMINAL_DOCKER_SOCKET` says; host-b's it learns from host-b's announcement and
    reaches through a client of its own, as in a deployment."""
    made, probes, gateways = [], [], []
    for name in ("auth", "teams", "terminal", "gateway"):
        for index in range(2):
            port = str(free_port())
            folder = tmp_path / f"{name}-{index}"
            folder.mkdir()
            if name == "gateway":
                env = service_env(name, nats, port=port)
                gateways.append(f"http://127.0.0.1:{port}")
            else:
                settings = {"database_url": databases[name], "health_port": port}
                if name == "auth":
                    settings["platform_admins"] = f"{ADMIN}@example.com"
                env = service_env(name, nats, **settings)
            probes.append(f"http://127.0.0.1:{port}/health/ready")
            made.append(ServiceProcess(env, folder, f"pyk8s_{name}"))
    return made, probes, gateways


async def answers(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(url, timeout=2)).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class Person:
    """A user signed up and logged in through one gateway, calling any of them."""

    api: list[httpx.AsyncClient]
    token: str

    @classmethod
    async def sign_up(cls, api: list[httpx.AsyncClient], username: str) -> "Person":
        body = {"username": username, "email": f"{username}@example.com", "password": PW}
        made = await api[0].post("/auth/signup", json=body)
        assert made.status_code == 201, made.text
        tokens = await api[1].post("/auth/login", json={"login": username, "password": PW})
        assert tokens.status_code == 200, tokens.text
        return cls(api, tokens.json()["access_token"])

    async def call(self, method: str, path: str, gateway: int = 0, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return await self.api[gateway].request(method, path, headers=headers, **kw)


@dataclass
class AtGateway:
    """A person at one gateway, as the terminal helpers of gateway/tests/test_terminal.py
    take them: the gateway's `url` (the page's origin, where the socket opens) and `post`."""

    url: str
    token: str

    def post(self, path: str, **kw) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.post(f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kw)


def echo_in_a_shell(at: AtGateway, cluster_id: str, words: str) -> None:
    """Opens a terminal on the cluster through the gateway, sees `words` echoed, closes it."""
    shell = open_shell(at, at, uuid.UUID(cluster_id))
    try:
        shell.type(f"echo {words}\r")
        shell.read_until(rf"\r\n{words}\r\n".encode())
    finally:
        shell.ws.close()


async def sessions_opened_by_replica(cluster: EmbeddedNatsCluster) -> dict[str, int]:
    """The sessions each terminal replica has opened, from the nats.micro statistics every
    instance of the service answers (`nats micro stats terminal`)."""
    nc = await cluster.connect(OPERATOR)
    inbox = nc.new_inbox()
    replies = await nc.subscribe(inbox)
    try:
        await nc.publish(f"$SRV.STATS.{subjects.SERVICE_TERMINAL}", b"", reply=inbox)
        opened = {}
        while len(opened) < 2:
            stats = json.loads((await replies.next_msg(timeout=5)).data)
            opened[stats["id"]] = next(
                e["num_requests"]
                for e in stats["endpoints"]
                if e["subject"] == subjects.TERMINAL_SESSION_OPEN
            )
        return opened
    finally:
        await replies.unsubscribe()
        await nc.close()


async def test_a_pool_of_two_hosts_on_a_nats_cluster(
    make_database, nats_cluster: EmbeddedNatsCluster, second_docker, tmp_path
):
    databases = {
        "auth": make_database("auth", AUTH_MIGRATIONS),
        "teams": make_database("teams", TEAMS_MIGRATIONS),
        "terminal": make_database("terminal", TERMINAL_MIGRATIONS),
    }
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
    replicas: dict[str, list[ServiceProcess]] = {}
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
    others, probes, gateway_urls = control_plane(nats_cluster, databases, tmp_path)
    everything = [*others, *(p for processes in replicas.values() for p in processes)]
    api = [httpx.AsyncClient(base_url=f"{url}/api/v1", timeout=30) for url in gateway_urls]
    made: dict[str, tuple[str, str, str]] = {}  # id: (host, provider, runtime)
    subscriber = OutsideSubscriber(nats_cluster, subjects.CLUSTER_EVENTS_ALL, "pool-acceptance")
    reading: asyncio.Task | None = None

    async def listed(person: Person) -> list[dict]:
        answer = await person.call("GET", "/clusters", params={"limit": 200})
        return answer.json()["clusters"] if answer.status_code == 200 else []

    async def create(person: Person, name: str, provider: str) -> dict:
        """Asked until answered, through each gateway in turn: during the failover a request
        may go unanswered although the cluster was made (the retry then meets its name)."""
        attempts = 0

        async def attempt() -> dict | None:
            nonlocal attempts
            attempts += 1
            body = {"name": name, "provider": provider}
            answer = await person.call("POST", "/clusters", len(made) % 2, json=body)
            if answer.status_code == 409:
                return next((c for c in await listed(person) if c["name"] == name), None)
            assert answer.status_code in (202, 503), answer.text
            return answer.json() if answer.status_code == 202 else None

        cluster = await wait_until_async(attempt, timeout=60, interval=0.2)
        made[cluster["id"]] = (
            cluster["host_id"],
            provider,
            runtime_name(name, uuid.UUID(cluster["id"])),
        )
        return cluster

    async def all_are(person: Person, ids, status) -> bool:
        current = {c["id"]: c["status"] for c in await listed(person)}
        return all(current.get(i) == status for i in ids)

    async def wait_all(person: Person, ids, status: str, timeout: float) -> None:
        try:
            await wait_until_async(
                lambda: all_are(person, ids, status), timeout=timeout, interval=0.2
            )
        except AssertionError:
            current = {c["id"]: c["status"] for c in await listed(person)}
            others = {made[i][2]: current.get(i) for i in ids if current.get(i) != status}
            raise AssertionError(f"not {status} within {timeout}s: {others}") from None

    def on(host_id: str) -> list[str]:
        return [i for i, (host, _, _) in made.items() if host == host_id]

    try:
        await ensure_all_streams(nats_cluster, replicas=3)
        for process in everything:
            process.start()
        async with httpx.AsyncClient() as probe:
            for url in probes:
                await wait_until_async(lambda u=url: answers(probe, u), timeout=90, interval=0.2)
        user = await Person.sign_up(api, "pooluser")
        admin = await Person.sign_up(api, ADMIN)

        async def both_announce() -> bool:
            answer = await admin.call("GET", "/hosts")
            hosts = answer.json()["hosts"] if answer.status_code == 200 else []
            return {h["id"] for h in hosts if h["reachable"]} == set(HOSTS)

        await wait_until_async(both_announce, timeout=90, interval=0.2)
        reading = asyncio.create_task(subscriber.run())

        # The node that leads the events stream dies half-way through the creates.
        victim = nats_cluster.nodes[0]
        await move_stream_leader(nats_cluster, subjects.EVENTS_STREAM, victim.server_name)
        started = time.monotonic()
        for index in range(CLUSTERS):
            if index == KILL_NATS_AFTER:
                victim.kill()
                nats_killed = time.monotonic()
            await create(user, f"pool{index}", ("kind", "k3d")[index % 2])
        creates_after_kill = time.monotonic() - nats_killed
        await wait_all(user, list(made), "ready", 150)
        to_ready = time.monotonic() - started
        placed = Counter(host for host, _, _ in made.values())
        assert placed == {"host-a": CLUSTERS // 2, "host-b": CLUSTERS // 2}, placed
        for host, provider, runtime in made.values():
            on_b = second_docker.nodes(provider, runtime)
            on_a = local_nodes(provider, runtime)
            assert (bool(on_a), bool(on_b)) == (host == "host-a", host == "host-b"), runtime

        # Shells on a cluster of each host, through each gateway in turn, until both terminal
        # replicas have opened one (the queue group picks the replica).
        shells: list[str] = []

        async def both_terminals_serve() -> bool:
            host = HOSTS[len(shells) % 2]
            at = AtGateway(gateway_urls[len(shells) // 2 % 2], user.token)
            words = f"shell{len(shells)}-on-{host}"
            await asyncio.to_thread(echo_in_a_shell, at, on(host)[0], words)
            shells.append(host)
            opened = await sessions_opened_by_replica(nats_cluster)
            return len(shells) >= len(HOSTS) and all(opened.values())

        shells_started = time.monotonic()
        await wait_until_async(both_terminals_serve, timeout=60, interval=0)
        shells_took = time.monotonic() - shells_started

        # Both of host-b's replicas die: its clusters turn unreachable, creates go on on host-a.
        first_on_b = on("host-b")
        for process in replicas["host-b"]:
            process.kill()
        killed = time.monotonic()
        await wait_all(user, first_on_b, "unreachable", 40)
        to_unreachable = time.monotonic() - killed
        later = [await create(user, f"later{i}", "kind") for i in range(2)]
        assert [cluster["host_id"] for cluster in later] == ["host-a", "host-a"]
        await wait_all(user, on("host-a"), "ready", 60)

        for process in replicas["host-b"]:
            process.start()
        restarted = time.monotonic()
        await wait_all(user, first_on_b, "ready", 60)
        to_ready_again = time.monotonic() - restarted

        drained = await admin.call("POST", "/hosts/host-b/drain", 1)
        assert drained.status_code == 200, drained.text
        assert drained.json()["drained"] and drained.json()["clusters"] == CLUSTERS // 2
        after_drain = [await create(user, f"drained{i}", "k3d") for i in range(2)]
        assert {cluster["host_id"] for cluster in after_drain} == {"host-a"}
        assert on("host-b") == first_on_b
        await wait_all(user, list(made), "ready", 60)

        # The outside subscriber got every event of the run, once.
        events = await stream_events(nats_cluster, subjects.CLUSTER_EVENTS_ALL)
        await wait_until_async(lambda: len(subscriber.ids) >= len(events), timeout=40)
        subscriber.stopped = True
        await reading
        assert len(subscriber.ids) == len(set(subscriber.ids)), "an event delivered twice"
        assert set(subscriber.ids) == {event["id"] for event in events}, "an event lost"
        lifecycles: dict[str, list[str]] = {}
        for event in events:
            lifecycles.setdefault(event["subject"], []).append(event["type"].rsplit(".", 1)[-1])
        assert lifecycles == {i: WENT_AWAY_AND_BACK if i in first_on_b else LIFECYCLE for i in made}
        print(
            f"{CLUSTERS} clusters ready on two hosts in {to_ready:.1f}s, placed {dict(placed)} "
            f"(the last {CLUSTERS - KILL_NATS_AFTER} asked in {creates_after_kill:.1f}s after "
            f"{victim.server_name} was killed); {len(shells)} shells answered through two "
            f"terminal replicas in {shells_took:.1f}s {dict(Counter(shells))}; "
            f"host-b's {len(first_on_b)} unreachable "
            f"{to_unreachable:.1f}s after its replicas were killed, ready {to_ready_again:.1f}s "
            f"after their restart; subscriber: {len(subscriber.ids)} events, 0 lost, 0 twice, "
            f"fetches failed {dict(subscriber.fetch_errors)}; final placement "
            f"{dict(Counter(host for host, _, _ in made.values()))}"
        )
    finally:
        subscriber.stopped = True
        if reading is not None:
            await asyncio.gather(reading, return_exceptions=True)
        for client in api:
            await client.aclose()
        for process in everything:
            process.stop()
        for host, provider, runtime in made.values():
            if host == "host-a":
                remove_nodes(provider, runtime)
