"""pytest plugin: a real PostgreSQL for the session (one database per test, cloned from a
migrated template per service) and a real NATS server with JetStream per test."""

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command

from .db import alembic_config
from .embedded import EmbeddedNats, EmbeddedPostgres


@pytest.fixture(scope="session")
def embedded_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", durable=False).start()
    yield pg
    pg.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats").start()
    yield server
    server.stop()


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
    import asyncio
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
