"""Teams service process: `python -m pyk8s_teams` (settings from TEAMS_* variables)."""

from pathlib import Path

from pyk8s_contracts.subjects import SERVICE_TEAMS
from pyk8s_kit.logs import setup_logging
from pyk8s_kit.outbox import OutboxRelay
from pyk8s_kit.runtime import Runtime, run

from .handlers import build_router
from .models import OutboxEvent
from .peers import Peers
from .service import TeamsService
from .settings import TeamsSettings
from .signups import SignupRedeemer

MIGRATIONS = Path(__file__).parent / "migrations"


async def start(settings: TeamsSettings | None = None) -> Runtime:
    settings = settings or TeamsSettings()
    runtime = Runtime(SERVICE_TEAMS, settings, MIGRATIONS)
    await runtime.connect()
    relay = OutboxRelay(runtime.db, OutboxEvent, runtime.js)
    relay.start()
    runtime.on_stop(relay.stop)
    service = TeamsService(runtime.db, settings, Peers(runtime.nc, settings.peer_timeout_seconds))
    runtime.spawn(SignupRedeemer(runtime.js, service).run(), "teams-signups")
    await runtime.serve([build_router(service)])
    return runtime


def main() -> None:
    settings = TeamsSettings()
    setup_logging(settings.log_level)
    run(lambda: start(settings))
