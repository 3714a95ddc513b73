"""Terminal service process: `python -m pyk8s_terminal` (settings from TERMINAL_* variables)."""

from pathlib import Path

from pyk8s_contracts import subjects
from pyk8s_contracts.subjects import SERVICE_TERMINAL
from pyk8s_kit.logs import setup_logging
from pyk8s_kit.outbox import OutboxRelay
from pyk8s_kit.runtime import Runtime, run

from .docker import Docker, Engines
from .handlers import build_router
from .models import OutboxEvent
from .service import TerminalService
from .settings import TerminalSettings

MIGRATIONS = Path(__file__).parent / "migrations"


class TerminalRuntime(Runtime):
    service: TerminalService

    async def readiness(self) -> dict[str, bool]:
        return {**await super().readiness(), "docker": await self.service.engines.default.ping()}


async def start(settings: TerminalSettings | None = None) -> TerminalRuntime:
    settings = settings or TerminalSettings()
    runtime = TerminalRuntime(SERVICE_TERMINAL, settings, MIGRATIONS)
    await runtime.connect()
    docker = Docker(
        settings.docker_socket,
        settings.docker_api_version,
        host=settings.docker_host,
        cert_path=settings.docker_cert_path,
    )
    engines = Engines(docker, settings.docker_api_version, settings.docker_cert_path)
    service = TerminalService(runtime.db, runtime.nc, engines, settings)
    runtime.service = service
    relay = OutboxRelay(runtime.db, OutboxEvent, runtime.js)
    relay.start()
    events = await runtime.nc.subscribe(subjects.EVENTS_ALL, cb=service.on_event)
    runtime.spawn(service.supervise(), "terminal-supervise")
    # Stoppers run in reverse: the relay stops first (events of sessions ended while stopping
    # stay in the outbox for the next start), then the events, the sessions, the engine clients.
    runtime.on_stop(engines.close)
    runtime.on_stop(service.stop)
    runtime.on_stop(events.unsubscribe)
    runtime.on_stop(relay.stop)
    await runtime.serve([build_router(service)])
    return runtime


def main() -> None:
    settings = TerminalSettings()
    setup_logging(settings.log_level)
    run(lambda: start(settings))
