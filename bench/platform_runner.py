"""`make up`'s runner (scripts/up.py) as the benchmarks start it: on free ports, with a
throwaway data folder, stopped with SIGINT as a person stops `make up`."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nats
from nats.js.api import ConsumerConfig, DeliverPolicy

from pyk8s_kit.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


class Platform:
    """The running platform: its runner process, URLs and PostgreSQL port."""

    def __init__(self, data: Path, env: dict[str, str] | None = None) -> None:
        self.data = data
        self.env = env or {}
        names = ("gateway", "gateway_tls", "nats", "pg", "health")
        self.ports = {name: free_port() for name in names}
        self.http = f"http://127.0.0.1:{self.ports['gateway']}"
        self.https = f"https://127.0.0.1:{self.ports['gateway_tls']}"
        self.runner: subprocess.Popen | None = None

    def database_url(self, service: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.ports['pg']}/pyk8s_{service}"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.ports['nats']}"

    def credentials(self, identity: str) -> Path:
        """The nkey seed `make up` writes for an identity, e.g. `events` for outside programs."""
        return self.data / "nats" / "credentials" / f"{identity}.nk"

    def start(self) -> "Platform":
        env = {
            **os.environ,
            "PYK8S_DATA_DIR": str(self.data),
            "PYK8S_GATEWAY_PORT": str(self.ports["gateway"]),
            "PYK8S_GATEWAY_TLS_PORT": str(self.ports["gateway_tls"]),
            "PYK8S_NATS_PORT": str(self.ports["nats"]),
            "PYK8S_PG_PORT": str(self.ports["pg"]),
            "PYK8S_HEALTH_BASE_PORT": str(self.ports["health"]),
            **self.env,
        }
        log = (self.data.parent / "up.log").open("ab")
        self.runner = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "up.py")], env=env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 180
        while not ready(self.http):
            if self.runner.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the platform did not start; see {self.data.parent / 'up.log'}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.send_signal(signal.SIGINT)
            self.runner.wait(timeout=90)


class EventSubscriber:
    """An outside program as docs/events.md shows one: the `events` identity with its own
    durable pull consumer on PYK8S_EVENTS, in a process of its own (`subscribe` below), so
    that the benchmark's load does not delay it. Keeps when each event arrived there
    (perf_counter, the same clock in every process, and wall clock) and when the stream stored
    it, and wakes whoever waits for an event."""

    def __init__(self, platform: Platform, subject: str, durable: str) -> None:
        self.argv = [
            sys.executable,
            __file__,
            platform.nats_url,
            str(platform.credentials("events")),
            subject,
            durable,
        ]
        self.arrivals: list[tuple[float, float, float, dict]] = []
        self.waiting: dict[tuple[str, str], asyncio.Future] = {}
        self.process: asyncio.subprocess.Process | None = None
        self.task: asyncio.Task | None = None

    async def start(self) -> "EventSubscriber":
        self.process = await asyncio.create_subprocess_exec(
            *self.argv, stdout=asyncio.subprocess.PIPE, limit=2**20
        )
        if await self.process.stdout.readline() != b"subscribed\n":
            raise SystemExit("the event subscriber did not start")
        self.task = asyncio.create_task(self.read())
        return self

    async def read(self) -> None:
        async for line in self.process.stdout:
            arrived, wall, stored, event = json.loads(line)
            self.arrivals.append((arrived, wall, stored, event))
            future = self.waiting.pop((event["subject"], event["type"]), None)
            if future is not None and not future.done():
                future.set_result(arrived)

    def expect(self, subject: str, event_type: str) -> asyncio.Future:
        """A future set to the arrival time of the event `event_type` about `subject`."""
        future = asyncio.get_running_loop().create_future()
        self.waiting[(subject, event_type)] = future
        return future

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        if self.task is not None:
            await asyncio.gather(self.task, return_exceptions=True)


async def subscribe(url: str, seed: str, subject: str, durable: str) -> None:
    """The subscriber's process: one line of JSON per event on stdout."""
    nc = await nats.connect(url, nkeys_seed=seed, inbox_prefix="_INBOX_events")
    consumer = await nc.jetstream().pull_subscribe(
        subject,
        durable=durable,
        stream="PYK8S_EVENTS",
        config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
    )
    print("subscribed", flush=True)
    while True:
        try:
            # One at a time: a batch fetch waits to fill up, which would add to the latency.
            batch = await consumer.fetch(1, timeout=5)
        except nats.errors.TimeoutError:
            continue
        for msg in batch:
            arrived, wall = time.perf_counter(), time.time()
            stored = msg.metadata.timestamp.timestamp()
            print(json.dumps([arrived, wall, stored, json.loads(msg.data)]), flush=True)
            await msg.ack()


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def sign_up(api: httpx.Client, name: str = "bench") -> dict[str, str]:
    body = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    api.post("/auth/signup", json=body).raise_for_status()
    tokens = api.post("/auth/login", json={"login": name, "password": PASSWORD}).json()
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def wait_settled(api: httpx.Client, headers: dict[str, str], cluster_id: str) -> str:
    """The cluster's status once it has left pending and provisioning."""
    deadline = time.monotonic() + 120
    while (status := api.get(f"/clusters/{cluster_id}", headers=headers).json()["status"]) in (
        "pending",
        "provisioning",
    ):
        if time.monotonic() > deadline:
            raise SystemExit(f"cluster {cluster_id} did not settle")
        time.sleep(0.2)
    return status


def delete(api: httpx.Client, headers: dict[str, str], cluster_id: str) -> None:
    """kwok's processes outlive the platform's: a cluster is deleted before it stops."""
    api.delete(f"/clusters/{cluster_id}", headers=headers)
    deadline = time.monotonic() + 60
    while api.get(f"/clusters/{cluster_id}", headers=headers).json()["status"] != "deleted":
        if time.monotonic() > deadline:
            raise SystemExit(f"cluster {cluster_id} was not deleted")
        time.sleep(0.2)


if __name__ == "__main__":
    asyncio.run(subscribe(*sys.argv[1:5]))
