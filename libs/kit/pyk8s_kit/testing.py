"""pytest plugin: a real PostgreSQL for the session (one database per test, cloned from a
migrated template per service) and a real NATS server with JetStream per test, or a cluster of
three for the tests that need one.

With PYK8S_REQUIRE_ALL=1 (CI sets it) a skipped test is a failure: CI has everything every
test needs, so a skip there means a part went untested without anyone noticing."""

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from alembic import command
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig

from pyk8s_contracts.identities import ALL_IDENTITIES, Permissions
from pyk8s_contracts.subjects import EVENTS_STREAM

from .db import alembic_config
from .embedded import EmbeddedNats, EmbeddedNatsCluster, EmbeddedPostgres
from .natsauth import ensure_credentials

REQUIRE_ALL = "PYK8S_REQUIRE_ALL"


def skips_fail() -> bool:
    return os.environ.get(REQUIRE_ALL) == "1"


def fail_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Turns a skipped report into a failed one that says why it was skipped."""
    reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
    report.outcome = "failed"
    report.longrepr = f"skipped, but {REQUIRE_ALL}=1 requires every test to run: {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = (yield).get_result()
    if report.skipped and not hasattr(report, "wasxfail") and skips_fail():
        fail_skip(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    report = (yield).get_result()
    if report.skipped and skips_fail():
        fail_skip(report)


@pytest.fixture(scope="session")
def embedded_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", durable=False).start()
    yield pg
    pg.stop()


# A test-only identity for the kit's own tests: `test.>` subjects, its nats.micro discovery,
# and the JetStream stream TEST. It reaches no subject of the platform.
HARNESS = "harness"
HARNESS_PERMISSIONS = Permissions(
    publish=[
        "test.>",
        "$SRV.PING.test",
        "$JS.API.STREAM.NAMES",
        "$JS.API.*.*.TEST",
        "$JS.API.*.*.TEST.>",
        "$JS.FC.TEST.>",
        "$JS.ACK.TEST.>",
    ],
    subscribe=["test.>", "$SRV.*", "$SRV.*.test", "$SRV.*.test.*"],
    serves=True,
)


# A test-only identity for the cluster tests: moves stream leaders, reads stream and consumer
# state and the services' statistics, as an administrator would with the `nats` CLI (`nats
# micro stats`). Only test clusters admit it.
OPERATOR = "operator"
OPERATOR_PERMISSIONS = Permissions(
    publish=[
        "$JS.API.STREAM.LEADER.STEPDOWN.*",
        "$JS.API.STREAM.INFO.*",
        "$JS.API.CONSUMER.INFO.*.*",
        "$SRV.STATS.*",
    ],
    subscribe=[],
)


@pytest.fixture(scope="session")
def nats_seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One nkey seed per identity (and the harness), shared by every server of the session."""
    folder = tmp_path_factory.mktemp("nats-credentials")
    return ensure_credentials(folder, (*ALL_IDENTITIES, HARNESS))


@pytest.fixture
def nats_server(tmp_path: Path, nats_seeds: dict[str, Path]) -> Iterator[EmbeddedNats]:
    """A NATS server with authentication on, as in every deployment: connect with
    `await nats_server.connect(identity)`."""
    server = EmbeddedNats(tmp_path / "nats", nats_seeds, extra={HARNESS: HARNESS_PERMISSIONS})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def nats_cluster(tmp_path: Path, nats_seeds: dict[str, Path]) -> Iterator[EmbeddedNatsCluster]:
    """Three clustered NATS servers on loopback, authentication on as in every deployment:
    `nats_cluster.url` lists every node (a `*_NATS_URL` value), `nats_cluster.nodes[i]` is
    one to kill or restart, `await nats_cluster.connect(identity)` a client of any node."""
    operator = ensure_credentials(tmp_path / "nats-operator", [OPERATOR])
    cluster = EmbeddedNatsCluster(
        tmp_path / "nats-cluster",
        {**nats_seeds, **operator},
        size=3,
        extra={HARNESS: HARNESS_PERMISSIONS, OPERATOR: OPERATOR_PERMISSIONS},
    )
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def _templates(embedded_pg: EmbeddedPostgres) -> dict[str, str]:
    return {}


@pytest.fixture
def make_database(
    embedded_pg: EmbeddedPostgres, _templates: dict[str, str]
) -> Iterator[Callable[[str, Path], str]]:
    """`make_database(service, migrations_dir)` returns the URL of a fresh, migrated database."""
    created: list[str] = []

    def make(service: str, migrations_dir: Path) -> str:
        template = _templates.get(service)
        if template is None:
            template = f"tpl_{service}"
            embedded_pg.psql(f'DROP DATABASE IF EXISTS "{template}"')
            embedded_pg.psql(f'CREATE DATABASE "{template}"')
            config = alembic_config(migrations_dir, embedded_pg.url(template))
            # Alembic's env.py runs its own event loop: keep it off any loop running here.
            with ThreadPoolExecutor(1) as pool:
                pool.submit(command.upgrade, config, "head").result()
            _templates[service] = template
        name = f"t_{service}_{uuid.uuid4().hex[:12]}"
        embedded_pg.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        created.append(name)
        return embedded_pg.url(name)

    yield make
    for name in created:
        embedded_pg.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_until(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.02):
    """Poll `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)


async def wait_until_async(predicate, timeout: float = 10.0, interval: float = 0.02):
    """Async form of `wait_until`; `predicate` may be a coroutine function."""
    import inspect

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def ensure_all_streams(server: EmbeddedNats | EmbeddedNatsCluster, replicas: int = 1) -> None:
    """Creates every stream as its owner would at start-up, for tests that run without it."""
    from .streams import OWNED_STREAMS, ensure_streams

    async def made(nc, owner: str) -> bool:
        # A cluster that has just formed may time out a creation while it places the
        # replicas; the owners retry at start-up too (ensure_streams is idempotent).
        try:
            await ensure_streams(nc.jetstream(), owner, replicas)
        except NatsError:
            return False
        return True

    for owner in OWNED_STREAMS:
        nc = await server.connect(owner)
        try:
            await wait_until_async(lambda nc=nc, owner=owner: made(nc, owner), timeout=60)
        finally:
            await nc.close()


async def replicated(js, stream: str, nodes: int = 3):
    """The stream's info once it has a leader and every other node of a cluster of `nodes` as
    a current replica; None until then (for `wait_until_async`)."""
    try:
        info = await js.stream_info(stream)
    except NatsError:
        # While the cluster moves or elects the stream's leader, no one may answer in time.
        return None
    cluster = info.cluster
    followers = (cluster.replicas or []) if cluster else []
    current = len(followers) == nodes - 1 and all(peer.current for peer in followers)
    return info if cluster and cluster.leader and current else None


async def move_stream_leader(cluster: EmbeddedNatsCluster, stream: str, server_name: str) -> None:
    """Has `server_name` lead `stream`: the operator asks the leader to step down in its
    favour, as an administrator would with `nats stream cluster step-down`."""
    operator = await cluster.connect(OPERATOR)
    request = json.dumps({"placement": {"preferred": server_name}}).encode()
    try:

        async def leads() -> bool:
            try:
                info = await operator.jetstream().stream_info(stream)
                if info.cluster.leader == server_name:
                    return True
                await operator.request(
                    f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", request, timeout=5
                )
            except NatsError:
                pass  # no leader answering yet: ask again
            return False

        await wait_until_async(leads, timeout=30, interval=0.2)
    finally:
        await operator.close()


@dataclass
class Delivery:
    event: dict
    at: float  # time.monotonic() on arrival
    times_delivered: int


@dataclass
class OutsideSubscriber:
    """An outside program as docs/events.md shows one, for the tests that kill NATS nodes
    under it: the `events` identity and its own durable pull consumer on the events stream.
    Each event is acknowledged with the server's confirmation (`ack_sync`), retried through a
    failover, so that an acknowledged event is never sent again; a delivery lost with a killed
    node comes again after `ack_wait_seconds`."""

    nats: EmbeddedNats | EmbeddedNatsCluster
    subject: str
    durable: str
    ack_wait_seconds: float = 10
    recovery_seconds: float = 30
    deliveries: list[Delivery] = field(default_factory=list)
    ack_retries: int = 0
    fetch_errors: Counter = field(default_factory=Counter)
    stopped: bool = False

    @property
    def ids(self) -> list[str]:
        return [delivery.event["id"] for delivery in self.deliveries]

    async def run(self) -> None:
        nc = await self.nats.connect("events", name=self.durable)
        try:
            consumer = await nc.jetstream().pull_subscribe(
                self.subject,
                durable=self.durable,
                stream=EVENTS_STREAM,
                config=ConsumerConfig(
                    ack_policy=AckPolicy.EXPLICIT, ack_wait=self.ack_wait_seconds
                ),
            )
            while not self.stopped:
                try:
                    batch = await consumer.fetch(20, timeout=1)
                except (NatsTimeout, TimeoutError):
                    continue
                except NatsError as error:
                    # The consumer's leader is being elected anew: ask again shortly.
                    self.fetch_errors[type(error).__name__] += 1
                    await asyncio.sleep(0.1)
                    continue
                for msg in batch:
                    await self.handle(msg)
        finally:
            await nc.close()

    async def handle(self, msg) -> None:
        delivered = msg.metadata.num_delivered
        self.deliveries.append(Delivery(json.loads(msg.data), time.monotonic(), delivered))
        deadline = time.monotonic() + self.recovery_seconds
        while True:
            try:
                await msg.ack_sync(timeout=2)
                return
            except (NatsError, TimeoutError):
                self.ack_retries += 1
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def stream_events(nats: EmbeddedNats | EmbeddedNatsCluster, subject: str) -> list[dict]:
    """Every event on `subject` in the events stream, read afresh as an outside subscriber
    would, to its end (not until a timeout)."""
    nc = await nats.connect("events")
    js = nc.jetstream()
    info = await js.stream_info(EVENTS_STREAM, subjects_filter=subject)
    if not (info.state.subjects or {}):
        await nc.close()
        return []
    sub = await js.subscribe(subject, stream=EVENTS_STREAM, ordered_consumer=True)
    events = []
    try:
        while True:
            msg = await sub.next_msg(timeout=10)
            events.append(json.loads(msg.data))
            if msg.metadata.num_pending == 0:
                return events
    finally:
        await sub.unsubscribe()
        await nc.close()
