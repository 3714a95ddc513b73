"""A burst of sign-ins: 200 people log in at once through the gateway while one signed-in
person keeps asking `/auth/me`. The auth service and the gateway run as two processes, as in
production, on embedded PostgreSQL and NATS, with argon2 at the production parameters (OWASP:
m=19 MiB, t=2, p=1).

Prints the burst's completion time and answers, beside the floor measured in the same run: the
same number of argon2 verifications on this machine's cores with nothing else to do (and on one
core, which is the best a service checking one password at a time could do), and `/auth/me`
p50/p99 during the burst beside the same with the platform idle."""

import asyncio
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from argon2 import PasswordHasher

from pyk8s_auth.models import User
from pyk8s_contracts.identities import GATEWAY
from pyk8s_kit import natsauth
from pyk8s_kit.db import Database, migrate
from pyk8s_kit.embedded import EmbeddedNats, EmbeddedPostgres, free_port

BURST = 200
IDLE_SAMPLES = 200
PASSWORD = "correct horse battery"
REPO = Path(__file__).resolve().parents[1]
# The production parameters, as AuthSettings has them by default.
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def latency(samples: list[float]) -> str:
    return (
        f"p50 {statistics.median(samples) * 1e3:7.1f} ms   "
        f"p99 {percentile(samples, 0.99) * 1e3:7.1f} ms   ({len(samples)} requests)"
    )


# --- the platform: the auth service and the gateway, each in a child process ------------------


def serve_auth(nats_url: str, seed: Path, database_url: str) -> None:
    from pyk8s_auth.main import start
    from pyk8s_auth.settings import AuthSettings

    settings = AuthSettings(
        environment="development",
        nats_url=nats_url,
        nats_credentials=str(seed),
        database_url=database_url,
        log_level="WARNING",
    )

    async def serve() -> None:
        await start(settings)
        await asyncio.Event().wait()

    asyncio.run(serve())


def serve_gateway(nats_url: str, seed: Path, port: int) -> None:
    import uvicorn

    from pyk8s_gateway.main import create_app
    from pyk8s_gateway.settings import GatewaySettings

    settings = GatewaySettings(
        environment="development",
        nats_url=nats_url,
        nats_credentials=str(seed),
        port=port,
        required_services=["auth"],
        log_level="WARNING",
    )
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


def start_child(target, *args) -> multiprocessing.Process:
    child = multiprocessing.get_context("spawn").Process(target=target, args=args, daemon=True)
    child.start()
    return child


# --- the floor --------------------------------------------------------------------------------


def argon2_seconds(threads: int, stored: str) -> float:
    """Seconds to verify BURST passwords on `threads` threads (argon2 releases the GIL)."""
    with ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        list(pool.map(lambda _: HASHER.verify(stored, PASSWORD), range(BURST)))
        return time.perf_counter() - start


# --- the burst ----------------------------------------------------------------------------------


async def add_users(database_url: str, stored: str) -> list[str]:
    """BURST accounts sharing one password, written straight to the auth database: the burst
    measures logins, not BURST sign-ups."""
    names = [f"burst{n}-{uuid.uuid4().hex[:6]}" for n in range(BURST)]
    db = Database(database_url)
    async with db.session() as session:
        session.add_all(
            User(username=n, email=f"{n}@example.com", display_name=n, password_hash=stored)
            for n in names
        )
    await db.dispose()
    return names


async def observer(http: httpx.AsyncClient) -> dict[str, str]:
    name = f"observer-{uuid.uuid4().hex[:6]}"
    signup = {"username": name, "email": f"{name}@example.com", "password": PASSWORD}
    (await http.post("/auth/signup", json=signup)).raise_for_status()
    tokens = await http.post("/auth/login", json={"login": name, "password": PASSWORD})
    tokens.raise_for_status()
    return {"Authorization": f"Bearer {tokens.json()['access_token']}"}


async def ask_me(http: httpx.AsyncClient, headers: dict, samples: list[float]) -> int:
    start = time.perf_counter()
    answer = await http.get("/auth/me", headers=headers)
    samples.append(time.perf_counter() - start)
    return answer.status_code


async def burst(base: str, names: list[str]) -> tuple:
    limits = httpx.Limits(max_connections=BURST + 10, max_keepalive_connections=BURST + 10)
    async with httpx.AsyncClient(base_url=f"{base}/api/v1", timeout=60, limits=limits) as http:
        headers = await observer(http)
        idle: list[float] = []
        for _ in range(IDLE_SAMPLES):
            await ask_me(http, headers, idle)

        async def login(name: str) -> str:
            answer = await http.post("/auth/login", json={"login": name, "password": PASSWORD})
            if answer.status_code == 200:
                return "200"
            return f"{answer.status_code} ({answer.json()['detail']})"

        during: list[float] = []
        me_answers: Counter[int] = Counter()
        start = time.perf_counter()
        logins = asyncio.gather(*(login(name) for name in names))
        while not logins.done():
            me_answers[await ask_me(http, headers, during)] += 1
        elapsed = time.perf_counter() - start
        answers = Counter(await logins)
    return elapsed, answers, idle, during, me_answers


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="pyk8s-bench-"))
    pg = EmbeddedPostgres(workdir / "pg", durable=False).start()
    seeds = natsauth.ensure_credentials(workdir / "nats-credentials")
    server = EmbeddedNats(workdir / "nats", seeds).start()
    children = []
    try:
        pg.ensure_database("bench_auth")
        database_url = pg.url("bench_auth")
        asyncio.run(migrate(REPO / "services/auth/pyk8s_auth/migrations", database_url))
        stored = HASHER.hash(PASSWORD)
        cores = os.cpu_count() or 1
        all_cores = argon2_seconds(cores, stored)
        one_core = argon2_seconds(1, stored)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        children.append(start_child(serve_auth, server.url, seeds["auth"], database_url))
        children.append(start_child(serve_gateway, server.url, seeds[GATEWAY], port))
        wait_http(f"{base}/health/ready")
        names = asyncio.run(add_users(database_url, stored))
        elapsed, answers, idle, during, me_answers = asyncio.run(burst(base, names))
    finally:
        for child in children:
            child.terminate()
            child.join(10)
        server.stop()
        pg.stop()

    print(f"{BURST} argon2 verifications, nothing else running (the floor)")
    print(f"  on {cores} cores {all_cores:6.2f} s    on 1 core {one_core:6.2f} s")
    print(f"{BURST} logins at once through the gateway")
    statuses = ", ".join(f"{count} x {status}" for status, count in sorted(answers.items()))
    print(f"  all answered in {elapsed:6.2f} s: {statuses}")
    print(
        f"  {elapsed / all_cores:.2f}x the floor on {cores} cores, "
        f"{elapsed / one_core:.2f}x the floor on 1 core"
    )
    print("/auth/me")
    print(f"  idle          {latency(idle)}")
    me_statuses = ", ".join(f"{count} x {status}" for status, count in sorted(me_answers.items()))
    print(f"  during burst  {latency(during)}: {me_statuses}")
    print(
        f"  p50 {statistics.median(during) / statistics.median(idle):.1f}x idle, "
        f"p99 {percentile(during, 0.99) / percentile(idle, 0.99):.1f}x idle"
    )


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
