"""The platform through a PostgreSQL or NATS outage: API calls answer 503 with Retry-After
(never 500, never after the request timeout), probes say not ready, and everything comes back
by itself once the server returns."""

import asyncio
import logging
import time
from collections.abc import Iterator

import httpx
import pytest

from conftest import SERVICES, Person, PlatformThread, ProvisionerTestSettings
from pyk8s_kit.embedded import EmbeddedPostgres, free_port
from pyk8s_kit.testing import ensure_all_streams, wait_until, wait_until_async
from pyk8s_provisioner.main import start as start_provisioner

# The gateway's request timeout over NATS: a fast failure is well under it.
REQUEST_TIMEOUT_SECONDS = 5.0
FAST_FAILURE_SECONDS = 2.5
RECOVERY_SECONDS = 10.0


@pytest.fixture
def own_pg(tmp_path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, to stop and start: the session's is shared."""
    pg = EmbeddedPostgres(tmp_path / "pg", durable=False).start()
    yield pg
    pg.stop()


@pytest.fixture
def platform_overrides() -> dict[str, dict]:
    """A probe port for every service."""
    return {spec.name: {"health_port": free_port()} for spec in SERVICES}


@pytest.fixture
def platform_on_own_pg(own_pg, nats_server, platform_overrides):
    urls = {}
    for spec in SERVICES:
        own_pg.ensure_database(f"pyk8s_{spec.name}")
        urls[spec.name] = own_pg.url(f"pyk8s_{spec.name}")
    thread = PlatformThread(nats_server, urls, platform_overrides)
    try:
        yield thread.start_and_wait()
    finally:
        thread.stop()


def probe(port: int, path: str = "/health/ready") -> httpx.Response:
    return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5)


def probe_ports(overrides: dict[str, dict]) -> list[int]:
    return [settings["health_port"] for settings in overrides.values()]


def assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "service_unavailable"
    assert int(answer.headers["retry-after"]) >= 1


def assert_not_ready(port: int, failing: str) -> None:
    ready = probe(port)
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"][failing] is False
    # Liveness never follows a dependency: a restart would not bring it back.
    assert probe(port, "/health/live").status_code == 200


def all_ready(ports: list[int]) -> bool:
    return all(probe(port).status_code == 200 for port in ports)


def timed(call) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = call()
    return answer, time.monotonic() - started


def test_postgres_outage_is_503_with_retry_after_and_recovers(
    platform_on_own_pg, own_pg, platform_overrides
):
    platform = platform_on_own_pg
    ports = probe_ports(platform_overrides)
    with httpx.Client(base_url=f"{platform.url}/api/v1", timeout=30) as api:
        alice = Person(api)
        assert alice.get("/teams").status_code == 200
        own_pg.stop()
        try:
            assert_unavailable(alice.get("/teams"))
            assert_unavailable(alice.post("/teams", json={"name": "during-outage"}))
            assert_unavailable(
                api.post("/auth/login", json={"login": alice.username, "password": "x" * 12})
            )
            for port in ports:
                assert_not_ready(port, "database")
            # The gateway's own dependency, NATS, is up: it stays in the Service and answers
            # these 503s itself (docs/operations.md, Probes).
            assert httpx.get(f"{platform.url}/health/ready").status_code == 200
        finally:
            own_pg.start()
        back = time.monotonic()
        wait_until(lambda: alice.get("/teams").status_code == 200, RECOVERY_SECONDS, 0.05)
        api_back = time.monotonic() - back
        wait_until(lambda: all_ready(ports), RECOVERY_SECONDS, 0.05)
        print(f"API back {api_back:.2f}s after PostgreSQL returned")
        assert alice.post("/teams", json={"name": "after-outage"}).status_code == 201


def test_nats_outage_fails_fast_with_503_and_recovers(platform, platform_overrides):
    ports = probe_ports(platform_overrides)
    with httpx.Client(base_url=f"{platform.url}/api/v1", timeout=30) as api:
        alice = Person(api)
        platform.nats.stop()
        first, first_seconds = timed(lambda: alice.get("/teams"))
        assert_unavailable(first)
        assert first_seconds < FAST_FAILURE_SECONDS < REQUEST_TIMEOUT_SECONDS
        wait_until(lambda: httpx.get(f"{platform.url}/health/ready").status_code == 503)
        answer, seconds = timed(lambda: alice.get("/teams"))
        assert_unavailable(answer)
        assert seconds < FAST_FAILURE_SECONDS
        for port in ports:
            assert_not_ready(port, "nats")
        platform.nats.start()
        back = time.monotonic()
        wait_until(lambda: alice.get("/teams").status_code == 200, RECOVERY_SECONDS, 0.05)
        api_back = time.monotonic() - back
        wait_until(lambda: all_ready(ports), RECOVERY_SECONDS, 0.05)
        # The gateway's ticket bucket outlives the restart: the live stream opens again.
        assert alice.post("/events/tickets").status_code == 201
        print(
            f"503 in {first_seconds:.3f}s right after NATS stopped, {seconds:.3f}s once "
            f"noticed; API back {api_back:.2f}s after NATS returned"
        )


async def test_provisioner_waits_out_a_database_down_at_start_up(own_pg, nats_server, caplog):
    own_pg.ensure_database("pyk8s_provisioner")
    await ensure_all_streams(nats_server)
    port = free_port()
    settings = ProvisionerTestSettings(
        environment="test",
        nats_url=nats_server.url,
        nats_credentials=str(nats_server.seeds["provisioner"]),
        database_url=own_pg.url("pyk8s_provisioner"),
        health_port=port,
    )
    await asyncio.to_thread(own_pg.stop)
    caplog.set_level(logging.WARNING, "pyk8s_kit.outages")
    starting = asyncio.create_task(start_provisioner(settings))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as probes:
            await wait_until_async(lambda: "dependency unavailable" in caplog.text)
            live = await probes.get("/health/live")
            ready = await probes.get("/health/ready")
            assert live.status_code == 200
            assert ready.status_code == 503
            assert ready.json()["checks"]["started"] is False
            assert not starting.done()
            await asyncio.to_thread(own_pg.start)
            runtime = await asyncio.wait_for(starting, RECOVERY_SECONDS)
            try:
                assert runtime.started
                assert (await probes.get("/health/ready")).status_code == 200
            finally:
                await runtime.stop()
    finally:
        starting.cancel()
