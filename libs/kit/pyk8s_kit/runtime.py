"""Process wiring shared by services: migrate, connect NATS, serve endpoints, run background
loops, answer probes, and stop cleanly on SIGTERM/SIGINT."""

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import uvloop
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.micro.service import Service

from . import natsauth
from .actors import AccessTokenVerifier
from .bus import Router, serve
from .db import Database, migrate
from .health import HealthServer
from .outages import until_available
from .settings import ServiceSettings
from .streams import ensure_streams

log = logging.getLogger(__name__)

# How long requests being handled at shutdown get to answer: no caller waits longer (sign-ups
# and logins, the longest, 20 s: pyk8s_contracts.auth.PASSWORD_REQUEST_TIMEOUT_SECONDS).
FINISH_GRACE_SECONDS = 20.0


class Runtime:
    def __init__(self, name: str, settings: ServiceSettings, migrations_dir: Path) -> None:
        self.name = name
        self.settings = settings
        self.migrations_dir = migrations_dir
        self.db = Database(settings.database_url, settings.db_pool_size)
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self._service: Service | None = None
        self._routers: list[Router] = []
        self._tasks: list[asyncio.Task] = []
        self._stoppers: list[Callable[[], Awaitable[Any]]] = []
        self._health: HealthServer | None = None
        # Set once start-up work is done and the endpoints serve: until then not ready.
        self.started = False

    async def connect(self) -> None:
        """Probes first, so that the process is live (not restarted) while it waits out an
        outage here; then migrations and NATS, each retried until its server answers."""
        if self.settings.health_port:
            self._health = HealthServer(
                self.settings.health_host, self.settings.health_port, self.readiness
            )
            await self._health.start()
        await until_available(
            f"{self.name} migrations",
            lambda: migrate(self.migrations_dir, self.settings.database_url),
        )
        # Retries a refused first connection by itself (max_reconnect_attempts=-1); with a
        # cluster's server list, any node will do.
        self.nc = await natsauth.connect(
            self.settings.nats_url,
            self.name,
            self.settings.nats_credentials,
            tls_ca=self.settings.nats_tls_ca,
        )
        self.js = self.nc.jetstream()
        replicas = self.settings.nats_stream_replicas
        await until_available(
            f"{self.name} streams", lambda: ensure_streams(self.js, self.name, replicas)
        )

    async def serve(self, routers: list[Router], version: str = "0.1.0") -> None:
        """Serve the endpoints: the last step of start-up, so a replica that answers on the
        bus has finished it."""
        assert self.nc is not None
        self.actors = AccessTokenVerifier(self.nc)
        self._routers = routers
        self._service = await serve(self.nc, self.name, version, routers, self.actors.actor)
        self.started = True
        log.info("%s service ready", self.name)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    def on_stop(self, stopper: Callable[[], Awaitable[Any]]) -> None:
        self._stoppers.append(stopper)

    async def readiness(self) -> dict[str, bool]:
        return {
            "started": self.started,
            "nats": bool(self.nc and self.nc.is_connected),
            "database": await self.db.ping(),
        }

    async def stop(self) -> None:
        if self._health:
            await self._health.stop()
        if self._service:
            await self._service.stop()
        for router in self._routers:
            await router.finish(FINISH_GRACE_SECONDS)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for stopper in reversed(self._stoppers):
            await stopper()
        if self.nc and not self.nc.is_closed:
            await self.nc.drain()
        await self.db.dispose()


def run(start: Callable[[], Awaitable[Runtime]]) -> None:
    """Entry point of a service process."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        starting = asyncio.create_task(start())
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            # Stopped while waiting out an outage at start-up: nothing is served yet.
            starting.cancel()
            log.info("stopped during start-up")
            return
        runtime = starting.result()
        try:
            await stopping
        finally:
            await runtime.stop()

    # uvloop, as the gateway runs under uvicorn: a tenth less CPU per request answered
    # (docs/performance.md).
    uvloop.run(main())
