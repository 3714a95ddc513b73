"""Web terminal latency and throughput, end to end: a WebSocket client -> gateway -> NATS ->
terminal service -> Docker exec TTY in a node container, and back.

Prints the keystroke echo round trip (p50/p99 over 1,000 keystrokes) beside the same
measurement on a direct `docker exec` PTY (the floor, in the same run), and output throughput
in MB/s for both. The gateway and the services run in a child process (real auth and terminal
services, embedded PostgreSQL and NATS with authentication on, each component connecting as
its own identity); a stand-in answers the provisioner's two subjects with one cluster whose node
is a container started from the local node image."""

import asyncio
import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from pyk8s_contracts import subjects
from pyk8s_contracts.clusters import (
    Cluster,
    ClusterAccessRequest,
    ClusterNode,
    ClusterNodeRequest,
    ClusterStatus,
    Provider,
)
from pyk8s_contracts.identities import GATEWAY
from pyk8s_kit import natsauth
from pyk8s_kit.db import migrate
from pyk8s_kit.embedded import EmbeddedNats, EmbeddedPostgres, free_port
from pyk8s_terminal.docker import Docker

KEYSTROKES = 1_000
FLOOD_MB = 100
NODE_IMAGE = "pyk8s-lab/node:local"
REPO = Path(__file__).resolve().parents[1]


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def summary(name: str, samples: list[float]) -> str:
    return (
        f"{name:<28} p50 {statistics.median(samples) * 1e3:6.2f} ms   "
        f"p99 {percentile(samples, 0.99) * 1e3:6.2f} ms"
    )


# --- the platform, in a child process ---------------------------------------------------------


def serve_platform(
    nats_url: str,
    seeds: dict[str, Path],
    urls: dict[str, str],
    port: int,
    container: str,
    cluster_id: str,
) -> None:
    asyncio.run(_serve_platform(nats_url, seeds, urls, port, container, uuid.UUID(cluster_id)))


async def _serve_platform(nats_url, seeds, urls, port, container, cluster_id) -> None:
    import uvicorn

    from pyk8s_auth.main import start as start_auth
    from pyk8s_auth.settings import AuthSettings
    from pyk8s_gateway.main import create_app
    from pyk8s_gateway.settings import GatewaySettings
    from pyk8s_terminal.main import start as start_terminal
    from pyk8s_terminal.settings import TerminalSettings

    common = {"environment": "development", "nats_url": nats_url, "log_level": "WARNING"}
    await start_auth(
        AuthSettings(
            database_url=urls["auth"],
            argon2_memory_kib=1024,
            nats_credentials=str(seeds["auth"]),
            **common,
        )
    )
    await start_terminal(
        TerminalSettings(
            database_url=urls["terminal"], nats_credentials=str(seeds["terminal"]), **common
        )
    )
    await provisioner_stand_in(nats_url, seeds["provisioner"], container, cluster_id)
    app = create_app(
        GatewaySettings(
            environment="development",
            nats_url=nats_url,
            nats_credentials=str(seeds[GATEWAY]),
            port=port,
            required_services=["auth", "terminal"],
        )
    )
    await uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    ).serve()


async def provisioner_stand_in(
    nats_url: str, seed: Path, container: str, cluster_id: uuid.UUID
) -> None:
    """Answers PROVISIONER_CLUSTER_ACCESS / _NODE, as the provisioner identity, for the one
    benchmark cluster: a personal cluster of whoever asks."""
    now = datetime.now(UTC)
    cluster = Cluster(
        id=cluster_id,
        name="bench",
        team_id=None,
        owner_id=uuid.uuid4(),
        provider=Provider.KIND,
        kubernetes_version=None,
        workers=0,
        status=ClusterStatus.READY,
        status_message=None,
        api_server=None,
        created_at=now,
        ready_at=now,
        expires_at=now + timedelta(hours=1),
    )
    node = ClusterNode(cluster_id=cluster_id, status=ClusterStatus.READY, container=container)
    nc = await natsauth.connect(
        nats_url, subjects.SERVICE_PROVISIONER, seed, name="provisioner-stand-in"
    )

    async def access(msg):
        asker = ClusterAccessRequest.model_validate_json(msg.data).user_id
        await msg.respond(cluster.model_copy(update={"owner_id": asker}).model_dump_json().encode())

    async def node_of(msg):
        ClusterNodeRequest.model_validate_json(msg.data)
        await msg.respond(node.model_dump_json().encode())

    await nc.subscribe(subjects.PROVISIONER_CLUSTER_ACCESS, queue="provisioner", cb=access)
    await nc.subscribe(subjects.PROVISIONER_CLUSTER_NODE, queue="provisioner", cb=node_of)


# --- measurements -----------------------------------------------------------------------------


class DirectPty:
    """The floor: a Docker exec TTY read and written directly, no gateway, no NATS."""

    def __init__(self, docker: Docker, container: str) -> None:
        self.docker = docker
        self.container = container

    async def __aenter__(self):
        self.stream = await self.docker.start_shell(self.container, ["TERM=xterm"])
        await self.read_until(b"# ")
        return self

    async def __aexit__(self, *exc) -> None:
        self.stream.writer.write(b"exit\r")
        self.stream.close()

    async def send(self, data: bytes) -> None:
        self.stream.writer.write(data)
        await self.stream.writer.drain()

    async def read_some(self) -> bytes:
        data = await self.stream.reader.read(65536)
        if not data:
            raise EOFError
        return data

    async def read_until(self, marker: bytes) -> int:
        total, tail = 0, b""
        while marker not in tail:
            data = await self.read_some()
            total += len(data)
            tail = (tail + data)[-256:]
        return total


class WebTerminal:
    """The full path: the gateway's WebSocket, with the frame protocol and acknowledgements."""

    def __init__(self, base: str, cluster_id: uuid.UUID, headers: dict) -> None:
        self.base = base
        self.cluster_id = cluster_id
        self.headers = headers

    async def __aenter__(self):
        async with httpx.AsyncClient(base_url=f"{self.base}/api/v1") as http:
            ticket = (
                await http.post(f"/clusters/{self.cluster_id}/terminal", headers=self.headers)
            ).json()
        ws_url = self.base.replace("http://", "ws://") + ticket["ws_url"]
        self.ws = await connect(ws_url, max_size=None)
        await self.ws.send(json.dumps({"type": "hello", "ticket": ticket["ticket"]}))
        assert json.loads(await self.ws.recv())["type"] == "ready"
        await self.read_until(b"# ")
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def send(self, data: bytes) -> None:
        await self.ws.send(data)

    async def read_some(self) -> bytes:
        while True:
            frame = await self.ws.recv()
            if isinstance(frame, bytes):
                await self.ws.send(json.dumps({"type": "ack", "bytes": len(frame)}))
                return frame

    async def read_until(self, marker: bytes) -> int:
        total, tail = 0, b""
        while marker not in tail:
            data = await self.read_some()
            total += len(data)
            tail = (tail + data)[-256:]
        return total


async def keystroke_round_trips(term) -> list[float]:
    samples = []
    for index in range(KEYSTROKES):
        if index % 50 == 0:
            await term.send(b"\x15")  # Ctrl-U: start a fresh line now and then
            await term.read_some()
        start = time.perf_counter()
        await term.send(b"k")
        while b"k" not in await term.read_some():
            pass
        samples.append(time.perf_counter() - start)
    await term.send(b"\x15")
    return samples


async def throughput(term) -> float:
    await term.send(b"stty -echo\r")
    await term.read_until(b"# ")
    command = f"head -c {FLOOD_MB * 1024 * 1024} /dev/zero | tr '\\0' y; echo; echo END-$((1+1))\r"
    start = time.perf_counter()
    await term.send(command.encode())
    total = await term.read_until(b"END-2")
    return total / (time.perf_counter() - start) / 1e6


async def measure(base: str, cluster_id: uuid.UUID, headers: dict, container: str) -> None:
    docker = Docker("/var/run/docker.sock", "1.41")
    try:
        async with DirectPty(docker, container) as direct:
            direct_rtt = await keystroke_round_trips(direct)
            direct_mbps = await throughput(direct)
        async with WebTerminal(base, cluster_id, headers) as web:
            web_rtt = await keystroke_round_trips(web)
            web_mbps = await throughput(web)
    finally:
        await docker.close()
    print(f"keystroke echo round trip, {KEYSTROKES} keystrokes")
    print(summary("  direct docker exec PTY", direct_rtt))
    print(summary("  web terminal (ws+NATS)", web_rtt))
    print(f"output throughput, {FLOOD_MB} MiB of output")
    print(f"  direct docker exec PTY     {direct_mbps:7.1f} MB/s")
    print(f"  web terminal (ws+NATS)     {web_mbps:7.1f} MB/s")


def main() -> None:
    subprocess.run(["bash", str(REPO / "scripts/ensure-docker.sh")], check=True)
    subprocess.run(
        ["bash", str(REPO / "scripts/node-image.sh")], check=True, stdout=subprocess.DEVNULL
    )
    container = f"pyk8s-bench-terminal-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "run", "-d", "--name", container, NODE_IMAGE],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    workdir = Path(tempfile.mkdtemp(prefix="pyk8s-bench-"))
    pg = EmbeddedPostgres(workdir / "pg", durable=False).start()
    seeds = natsauth.ensure_credentials(workdir / "nats-credentials")
    server = EmbeddedNats(workdir / "nats", seeds).start()
    child = None
    try:
        urls = {}
        for name, migrations in (
            ("auth", "services/auth/pyk8s_auth/migrations"),
            ("terminal", "services/terminal/pyk8s_terminal/migrations"),
        ):
            pg.ensure_database(f"bench_{name}")
            urls[name] = pg.url(f"bench_{name}")
            asyncio.run(migrate(REPO / migrations, urls[name]))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        cluster_id = uuid.uuid4()
        child = multiprocessing.get_context("spawn").Process(
            target=serve_platform,
            daemon=True,
            args=(server.url, seeds, urls, port, container, str(cluster_id)),
        )
        child.start()
        wait_http(f"{base}/health/live")
        asyncio.run(measure(base, cluster_id, sign_up(base), container))
    finally:
        if child is not None:
            child.terminate()
            child.join(10)
        server.stop()
        pg.stop()
        subprocess.run(["docker", "rm", "-f", container], check=False, capture_output=True)


def sign_up(base: str) -> dict[str, str]:
    name = f"bench{uuid.uuid4().hex[:8]}"
    password = "correct horse battery"
    with httpx.Client(base_url=f"{base}/api/v1") as http:
        http.post(
            "/auth/signup",
            json={"username": name, "email": f"{name}@example.com", "password": password},
        ).raise_for_status()
        login = http.post("/auth/login", json={"login": name, "password": password})
        login.raise_for_status()
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"the platform did not answer {url}")


if __name__ == "__main__":
    main()
