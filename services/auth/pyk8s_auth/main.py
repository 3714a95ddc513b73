"""Auth service process: `python -m pyk8s_auth` (settings from AUTH_* variables)."""

from pathlib import Path

from pyk8s_contracts.subjects import SERVICE_AUTH
from pyk8s_kit.logs import setup_logging
from pyk8s_kit.outages import until_available
from pyk8s_kit.outbox import OutboxRelay
from pyk8s_kit.runtime import Runtime, run

from .handlers import build_router
from .models import OutboxEvent
from .passwords import Passwords
from .service import AuthService
from .settings import AuthSettings

MIGRATIONS = Path(__file__).parent / "migrations"


async def start(settings: AuthSettings | None = None) -> Runtime:
    settings = settings or AuthSettings()
    runtime = Runtime(SERVICE_AUTH, settings, MIGRATIONS)
    await runtime.connect()
    relay = OutboxRelay(runtime.db, OutboxEvent, runtime.js)
    relay.start()
    runtime.on_stop(relay.stop)
    passwords = Passwords(settings)
    await passwords.start()
    # Stopped after the endpoints, once every request holding a turn has its answer.
    runtime.on_stop(passwords.stop)
    service = AuthService(runtime.db, settings, passwords)
    await until_available("signing key", service.load_signing_key)
    await runtime.serve([build_router(service, runtime.nc)])
    return runtime


def main() -> None:
    settings = AuthSettings()
    setup_logging(settings.log_level)
    run(lambda: start(settings))
