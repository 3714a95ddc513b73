"""Two Docker engines, one provisioner process each: clusters spread over both with their host
recorded and their nodes on that host's engine; the host whose provisioner is killed goes
silent, its clusters turn unreachable while creates go to the other; restarted, it brings them
back ready; a drained host takes nothing new; a terminal runs its shell on the engine of its
cluster's host, and the Kubernetes API proxy reaches a cluster at its host's address. Test
traffic stays on local sockets."""

import subprocess
import time
import uuid
from urllib.parse import urlsplit

from sqlalchemy import text

from pyk8s_contracts import clusters as c
from pyk8s_contracts import hosts as hosts_contract
from pyk8s_contracts import subjects
from pyk8s_contracts.auth import PLATFORM_ADMIN_CLAIM
from pyk8s_contracts.terminal import SessionOpened, SessionOpenRequest, Ticket, TicketCreateRequest
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.testing import ensure_all_streams, wait_until_async
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.service import runtime_name
from pyk8s_terminal.bridge import marker
from pyk8s_terminal.main import MIGRATIONS as TERMINAL_MIGRATIONS
from pyk8s_terminal.main import start as start_terminal
from pyk8s_terminal.settings import TerminalSettings

from .conftest import NoTeamsDouble, ProvisionerProcess, local_nodes, provisioner_env

# Each host announces every 0.5 s and is silent after 6 s without an announcement: room for
# a late announcement on a busy shared machine, short enough for the test.
TIMING = {
    "PROVISIONER_HOST_ANNOUNCE_INTERVAL_SECONDS": "0.5",
    "PROVISIONER_HOST_DEADLINE_SECONDS": "6",
}


def marked_in(docker_host: str, container: str, session_id: uuid.UUID) -> bool:
    """Whether a process in `container` of that engine carries the session's marker."""
    found = subprocess.run(
        [
            "docker",
            "-H",
            docker_host,
            "exec",
            container,
            "sh",
            "-c",
            f'grep -l "{marker(session_id)}" /proc/[0-9]*/environ 2>/dev/null; true',
        ],
        capture_output=True,
        text=True,
    )
    return found.returncode == 0 and bool(found.stdout.split())


async def test_clusters_spread_over_two_docker_hosts_and_survive_one_going_silent(
    make_database, nats_server, gateway_client, auth_keys, second_docker, tmp_path
):
    env = provisioner_env(make_database("provisioner", MIGRATIONS), nats_server, tmp_path / "w")
    env.update(TIMING, PROVISIONER_PERSONAL_QUOTA="12", PROVISIONER_WORKERS="2")
    env.pop("DOCKER_HOST", None)
    hosts = {}
    for host_id, extra in (("host-a", {}), ("host-b", {"DOCKER_HOST": second_docker.host})):
        (tmp_path / host_id).mkdir()
        hosts[host_id] = ProvisionerProcess(
            {
                **env,
                **extra,
                "PROVISIONER_HOST_ID": host_id,
                "PROVISIONER_WORK_DIR": str(tmp_path / host_id / "work"),
            },
            tmp_path / host_id,
        )
    await ensure_all_streams(nats_server)
    teams = await NoTeamsDouble().start(nats_server)
    actor = uuid.uuid4()
    admin = uuid.uuid4()
    admin_token = auth_keys.assertion(admin, **{PLATFORM_ADMIN_CLAIM: True})
    made: dict[uuid.UUID, tuple[str, str, str]] = {}  # id: (host, provider, runtime)

    async def create(name: str, provider: str) -> c.Cluster:
        payload = c.ClusterCreateRequest(actor_id=actor, name=name, provider=provider)
        cluster = await gateway_client.ask(subjects.PROVISIONER_CLUSTER_CREATE, payload, c.Cluster)
        made[cluster.id] = (cluster.host_id, provider, runtime_name(name, cluster.id))
        return cluster

    async def statuses() -> dict[uuid.UUID, str]:
        payload = c.ClusterListRequest(actor_id=actor)
        listed = await gateway_client.ask(subjects.PROVISIONER_CLUSTER_LIST, payload, c.ClusterList)
        return {cluster.id: cluster.status for cluster in listed.clusters}

    async def all_are(ids, status) -> bool:
        current = await statuses()
        return all(current[i] == status for i in ids)

    async def both_announce() -> bool:
        payload = hosts_contract.HostListRequest(actor_id=admin)
        try:
            listed = await gateway_client.ask(
                subjects.PROVISIONER_HOST_LIST, payload, hosts_contract.HostList, actor=admin_token
            )
        except ServiceError:  # not serving yet
            return False
        return {h.id for h in listed.hosts if h.reachable} == set(hosts)

    try:
        for process in hosts.values():
            process.start()
        await wait_until_async(both_announce, timeout=60, interval=0.2)
        started = time.monotonic()
        for index in range(8):
            await create(f"spread{index}", ("kind", "k3d")[index % 2])
        await wait_until_async(lambda: all_are(list(made), "ready"), timeout=120, interval=0.2)
        to_ready = time.monotonic() - started
        placed = [host for host, _, _ in made.values()]
        assert placed.count("host-a") == 4 and placed.count("host-b") == 4, placed
        for host, provider, runtime in made.values():
            on_b = second_docker.nodes(provider, runtime)
            on_a = local_nodes(provider, runtime)
            assert (
                (on_a, bool(on_b)) == ([], True)
                if host == "host-b"
                else (bool(on_a), on_b) == (True, [])
            )

        # host-b's provisioner dies: its announcement expires, its clusters turn unreachable.
        hosts["host-b"].kill()
        killed = time.monotonic()
        on_b = [i for i, (host, _, _) in made.items() if host == "host-b"]
        await wait_until_async(lambda: all_are(on_b, "unreachable"), timeout=30, interval=0.1)
        to_unreachable = time.monotonic() - killed
        on_a = [i for i, (host, _, _) in made.items() if host == "host-a"]
        assert await all_are(on_a, "ready")
        later = [await create(f"later{index}", "kind") for index in range(2)]
        assert [cluster.host_id for cluster in later] == ["host-a", "host-a"]

        hosts["host-b"].start()
        restarted = time.monotonic()
        await wait_until_async(lambda: all_are(on_b, "ready"), timeout=60, interval=0.1)
        to_ready_again = time.monotonic() - restarted

        # Drained, host-b takes nothing new although it holds fewer clusters.
        drain = hosts_contract.HostRequest(actor_id=admin, host_id="host-b")
        drained = await gateway_client.ask(
            subjects.PROVISIONER_HOST_DRAIN, drain, hosts_contract.Host, actor=admin_token
        )
        assert drained.drained and drained.clusters == 4
        after_drain = [await create(f"drained{index}", "k3d") for index in range(2)]
        assert {cluster.host_id for cluster in after_drain} == {"host-a"}
        await wait_until_async(lambda: all_are(list(made), "ready"), timeout=60, interval=0.2)
        print(
            f"8 clusters ready on two hosts in {to_ready:.1f}s; unreachable {to_unreachable:.1f}s "
            f"after the kill; ready {to_ready_again:.1f}s after the restart"
        )
    finally:
        for process in hosts.values():
            process.stop()
        await teams.stop()
        for host, provider, runtime in made.values():
            if host == "host-a":
                names = local_nodes(provider, runtime)
                if names:
                    subprocess.run(["docker", "rm", "-f", *names], capture_output=True)


async def test_terminals_and_the_api_proxy_go_to_the_clusters_host(
    make_database, nats_server, gateway_client, auth_keys, second_docker, tmp_path
):
    env = provisioner_env(make_database("provisioner", MIGRATIONS), nats_server, tmp_path / "w")
    env.update(TIMING)
    env.pop("DOCKER_HOST", None)
    engines = {"host-a": "unix:///var/run/docker.sock", "host-b": second_docker.host}
    # host-b is "another machine": its API servers are reached at its address (never dialled
    # here); host-a has none, the gateway runs on its machine.
    addresses = {"host-a": {}, "host-b": {"PROVISIONER_HOST_ADDRESS": "127.0.0.2"}}
    hosts = {}
    for host_id, engine in engines.items():
        (tmp_path / host_id).mkdir()
        hosts[host_id] = ProvisionerProcess(
            {
                **env,
                **addresses[host_id],
                "DOCKER_HOST": engine,
                "PROVISIONER_HOST_ID": host_id,
                "PROVISIONER_WORK_DIR": str(tmp_path / host_id / "work"),
            },
            tmp_path / host_id,
        )
    await ensure_all_streams(nats_server)
    # The terminal's own engine is the machine's: only the host's announcement leads it to
    # the second one.
    terminal = await start_terminal(
        TerminalSettings(
            environment="test",
            database_url=make_database("terminal", TERMINAL_MIGRATIONS),
            nats_url=nats_server.url,
            nats_credentials=str(nats_server.seeds["terminal"]),
        )
    )
    actor = uuid.uuid4()
    made: dict[str, tuple[uuid.UUID, str]] = {}  # host: (cluster id, runtime)

    async def ready() -> bool:
        for cluster_id, _ in made.values():
            payload = c.ClusterRequest(actor_id=actor, cluster_id=cluster_id)
            got = await gateway_client.ask(subjects.PROVISIONER_CLUSTER_GET, payload, c.Cluster)
            if got.status != "ready":
                return False
        return True

    async def create(name: str) -> None:
        payload = c.ClusterCreateRequest(actor_id=actor, name=name, provider="kind")
        cluster = await gateway_client.ask(subjects.PROVISIONER_CLUSTER_CREATE, payload, c.Cluster)
        made[cluster.host_id] = (cluster.id, runtime_name(name, cluster.id))

    async def open_shell(cluster_id: uuid.UUID) -> SessionOpened:
        ticket = await gateway_client.ask(
            subjects.TERMINAL_TICKET_CREATE,
            TicketCreateRequest(actor_id=actor, cluster_id=cluster_id),
            Ticket,
        )
        opening = SessionOpenRequest(
            session_id=uuid.uuid4(), cluster_id=cluster_id, ticket=ticket.ticket
        )
        return await gateway_client.ask(
            subjects.TERMINAL_SESSION_OPEN, opening, SessionOpened, timeout=15
        )

    try:
        for process in hosts.values():
            process.start()
        host_list = hosts_contract.HostListRequest(actor_id=actor)
        admin_token = auth_keys.assertion(actor, **{PLATFORM_ADMIN_CLAIM: True})

        async def both_announce() -> bool:
            try:
                listed = await gateway_client.ask(
                    subjects.PROVISIONER_HOST_LIST,
                    host_list,
                    hosts_contract.HostList,
                    actor=admin_token,
                )
            except ServiceError:  # not serving yet
                return False
            return {h.id for h in listed.hosts if h.reachable} == set(hosts)

        await wait_until_async(both_announce, timeout=60, interval=0.2)
        # Both empty, the first goes to host-a (by id), the second to the emptier host-b.
        await create("shell-a")
        await create("shell-b")
        assert set(made) == {"host-a", "host-b"}
        await wait_until_async(ready, timeout=120, interval=0.2)
        for host_id, (cluster_id, runtime) in made.items():
            opened = await open_shell(cluster_id)
            assert opened.container == f"{runtime}-control-plane"
            others = [h for h in engines if h != host_id]

            shell = (engines[host_id], opened.container, opened.session_id)
            await wait_until_async(lambda shell=shell: marked_in(*shell), timeout=15, interval=0.1)
            # The node exists on its own host's engine only.
            assert [marked_in(engines[h], opened.container, opened.session_id) for h in others] == [
                False
            ]
            async with terminal.db.session() as session:
                recorded = await session.execute(
                    text("SELECT host_id, docker_host FROM sessions WHERE id = :id"),
                    {"id": opened.session_id},
                )
                assert tuple(recorded.one()) == (host_id, engines[host_id])

        # The proxy and admin kubeconfig reads get host-b's clusters at host-b's address.
        for host_id, (cluster_id, _) in made.items():
            asked = c.ClusterProxyRequest(actor_id=actor, cluster_id=cluster_id)
            proxy = await gateway_client.ask(
                subjects.PROVISIONER_CLUSTER_PROXY, asked, c.ClusterProxy
            )
            cluster = await gateway_client.ask(subjects.PROVISIONER_CLUSTER_GET, asked, c.Cluster)
            expected = "127.0.0.2" if host_id == "host-b" else "127.0.0.1"
            assert urlsplit(proxy.server).hostname == expected, proxy.server
            assert cluster.api_server == proxy.server
    finally:
        await terminal.stop()
        for process in hosts.values():
            process.stop()
        for host_id, (_, runtime) in made.items():
            if host_id == "host-a":
                names = local_nodes("kind", runtime)
                if names:
                    subprocess.run(["docker", "rm", "-f", *names], capture_output=True)
