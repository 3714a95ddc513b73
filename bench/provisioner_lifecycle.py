"""The provisioner end to end on real PostgreSQL, NATS and Docker, with the kind/k3d test
doubles as CLIs (their nodes are real containers), or kwok for real from .tools
(scripts/install-k8s-tools.sh): time from the create request to the `ready` event and from
the delete request to `deleted`, with N clusters at once, and the request rate of
`provisioner.cluster.get`. NATS admits only the platform's identities: the benchmark asks as
the gateway does, with the access token of a user of the real auth service.

    uv run python bench/provisioner_lifecycle.py [clusters] [max_concurrent_creates] [providers]

`providers` is a comma-separated list the clusters take in turn (default `kind,k3d`); `3 1 kwok`
measures three kwok clusters, one created at a time.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

from pyk8s_auth.main import start as start_auth
from pyk8s_auth.settings import AuthSettings
from pyk8s_contracts import auth as auth_contract
from pyk8s_contracts import clusters as c
from pyk8s_contracts import subjects
from pyk8s_contracts.identities import GATEWAY
from pyk8s_kit.bus import request
from pyk8s_kit.embedded import EmbeddedNats, EmbeddedPostgres
from pyk8s_kit.natsauth import ensure_credentials
from pyk8s_provisioner.main import start
from pyk8s_provisioner.settings import ProvisionerSettings

ROOT = Path(__file__).resolve().parents[1]
DOUBLES = ROOT / "services" / "provisioner" / "tests" / "doubles"
TOOLS = ROOT / ".tools"
GETS = 2_000


def summary(label: str, seconds: list[float]) -> str:
    seconds = sorted(seconds)
    return f"{label}: n={len(seconds)} p50 {statistics.median(seconds):.2f}s max {seconds[-1]:.2f}s"


async def main(count: int, concurrency: int, providers: list[str]) -> None:
    tmp = Path(tempfile.mkdtemp())
    pg = EmbeddedPostgres(tmp / "pg", durable=False).start()
    seeds = ensure_credentials(tmp / "nats-credentials")
    server = EmbeddedNats(tmp / "nats", seeds).start()
    runtimes = []
    try:
        pg.ensure_database("bench")
        pg.ensure_database("bench_auth")
        # The auth service signs the access tokens the provisioner checks, and owns the
        # events stream.
        auth_settings = AuthSettings(
            environment="test",
            database_url=pg.url("bench_auth"),
            nats_url=server.url,
            nats_credentials=str(seeds["auth"]),
            argon2_memory_kib=1024,
            access_token_ttl_seconds=3600,
        )
        runtimes.append(await start_auth(auth_settings))
        settings = ProvisionerSettings(
            environment="test",
            database_url=pg.url("bench"),
            nats_url=server.url,
            nats_credentials=str(seeds["provisioner"]),
            kind_bin=str(DOUBLES / "kind_double"),
            k3d_bin=str(DOUBLES / "k3d_double"),
            kwokctl_bin=str(TOOLS / "bin" / "kwokctl"),
            kwok_etcd_bin=str(TOOLS / "bin" / "etcd"),
            kwok_controller_bin=str(TOOLS / "bin" / "kwok"),
            kwok_versions_dir=TOOLS / "kubernetes",
            work_dir=tmp / "work",
            max_concurrent_creates=concurrency,
            workers=concurrency + 1,
            team_quota=count,
            personal_quota=count,
        )
        runtimes.append(await start(settings))
        nc = await server.connect(GATEWAY, name="bench")
        js = nc.jetstream()
        token, actor = await sign_up(nc)
        seen: dict[tuple[str, str], float] = {}

        async def on_event(msg) -> None:
            event = json.loads(msg.data)
            seen[(event["subject"], event["type"].rsplit(".", 1)[-1])] = time.perf_counter()

        await js.subscribe(
            subjects.CLUSTER_EVENTS_ALL,
            stream=subjects.EVENTS_STREAM,
            cb=on_event,
            ordered_consumer=True,
        )
        asked: dict[str, float] = {}
        for index in range(count):
            payload = c.ClusterCreateRequest(
                actor_id=actor, name=f"bench-{index}", provider=providers[index % len(providers)]
            )
            asked_at = time.perf_counter()
            cluster = await request(
                nc, subjects.PROVISIONER_CLUSTER_CREATE, payload, c.Cluster, actor=token
            )
            asked[str(cluster.id)] = asked_at
        started = time.perf_counter()
        while not all((cid, "ready") in seen for cid in asked):
            await asyncio.sleep(0.05)
        all_ready = time.perf_counter() - started
        ready = [seen[(cid, "ready")] - at for cid, at in asked.items()]

        some_id = next(iter(asked))
        get = c.ClusterRequest(actor_id=actor, cluster_id=uuid.UUID(some_id))
        began = time.perf_counter()
        for _ in range(GETS):
            await request(nc, subjects.PROVISIONER_CLUSTER_GET, get, c.Cluster, actor=token)
        get_rate = GETS / (time.perf_counter() - began)

        deleting: dict[str, float] = {}
        for cid in asked:
            deleting[cid] = time.perf_counter()
            await request(
                nc,
                subjects.PROVISIONER_CLUSTER_DELETE,
                c.ClusterRequest(actor_id=actor, cluster_id=uuid.UUID(cid)),
                c.Cluster,
                actor=token,
            )
        while not all((cid, "deleted") in seen for cid in asked):
            await asyncio.sleep(0.05)
        deleted = [seen[(cid, "deleted")] - at for cid, at in deleting.items()]

        print(f"{count} clusters ({', '.join(providers)}), max_concurrent_creates={concurrency}")
        print(summary("create -> ready", ready) + f"; all ready after {all_ready:.2f}s")
        print(summary("delete -> deleted", deleted))
        print(f"provisioner.cluster.get sequential: {get_rate:,.0f} req/s")
        await nc.close()
    finally:
        for runtime in reversed(runtimes):
            await runtime.stop()
        server.stop()
        pg.stop()
        remove_kwok_leftovers(tmp / "work" / "kwok")


async def sign_up(nc) -> tuple[str, uuid.UUID]:
    """A new user of the auth service, logged in: their access token and id."""
    name = f"bench{uuid.uuid4().hex[:8]}"
    password = "correct horse battery"
    signup = auth_contract.SignupRequest(
        username=name, email=f"{name}@example.com", password=password
    )
    user = await request(nc, subjects.AUTH_SIGNUP, signup, auth_contract.User)
    login = auth_contract.LoginRequest(login=name, password=password, client="bench")
    tokens = await request(nc, subjects.AUTH_LOGIN, login, auth_contract.TokenPair)
    return tokens.access_token, user.id


def remove_kwok_leftovers(kwok_workdir: Path) -> None:
    """Processes of kwok clusters that an interrupted run left behind."""
    prefix = str(kwok_workdir / "clusters") + os.sep
    left = [
        process
        for process in psutil.process_iter(["cmdline"])
        if (process.info["cmdline"] or [""])[0].startswith(prefix)
    ]
    for process in left:
        process.kill()
    psutil.wait_procs(left, timeout=10)


def remove_leftovers() -> None:
    """Nodes of bench clusters that an interrupted run left behind."""
    names = []
    for label in ("io.x-k8s.kind.cluster", "k3d.cluster"):
        out = subprocess.run(
            ["docker", "ps", "-a", "--filter", f"label={label}", "--format", "{{.Names}}"],
            capture_output=True,
            check=False,
            text=True,
        ).stdout
        names += [n for n in out.split() if n.startswith(("bench-", "k3d-bench-"))]
    if names:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:3]]
    chosen = (sys.argv[3] if len(sys.argv) > 3 else "kind,k3d").split(",")
    try:
        asyncio.run(main(*(arguments + [6, 2][len(arguments) :]), chosen))
    finally:
        remove_leftovers()
