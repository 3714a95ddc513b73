"""Provisioner process: `python -m pyk8s_provisioner` (settings from PROVISIONER_* variables)."""

from pathlib import Path

from pyk8s_contracts.subjects import SERVICE_PROVISIONER
from pyk8s_kit.logs import setup_logging
from pyk8s_kit.outages import until_available
from pyk8s_kit.outbox import OutboxRelay
from pyk8s_kit.runtime import Runtime, run

from .access import TeamsOverNats
from .drivers import build_drivers
from .handlers import build_router
from .hosts import HostAgent, HostBoard, watch_hosts
from .models import OutboxEvent
from .operations import Operations
from .service import ClusterService, HostService
from .settings import ProvisionerSettings
from .worker import Worker

MIGRATIONS = Path(__file__).parent / "migrations"


async def start(settings: ProvisionerSettings | None = None) -> Runtime:
    settings = settings or ProvisionerSettings()
    settings.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    runtime = Runtime(SERVICE_PROVISIONER, settings, MIGRATIONS)
    await runtime.connect()
    drivers = build_drivers(settings)
    relay = OutboxRelay(runtime.db, OutboxEvent, runtime.js)
    relay.start()
    runtime.on_stop(relay.stop)
    ops = Operations(runtime.db, settings, drivers)
    worker = Worker(runtime.js, ops, settings)
    await until_available("provisioner work consumer", worker.ensure_consumer)
    # Before serving: a replica that answers has resumed what a crash interrupted.
    await until_available("start-up reconciliation", ops.reconcile)
    board = await until_available(
        "hosts bucket",
        lambda: HostBoard.open(
            runtime.js, settings.nats_stream_replicas, settings.host_deadline_seconds
        ),
    )
    agent = HostAgent(board, ops, settings, drivers)
    # Announced before serving, so that this host can take the first create asked of it.
    await until_available("host announcement", agent.announce)
    service = ClusterService(
        runtime.db, settings, TeamsOverNats(runtime.nc), drivers, board.announced
    )
    hosts = HostService(runtime.db, board.announced)
    await runtime.serve([build_router(service, hosts, runtime.nc, settings.host_id)])
    runtime.spawn(worker.run(), "provisioner-worker")
    runtime.spawn(agent.run(), "provisioner-host-agent")
    runtime.spawn(
        watch_hosts(board, ops, settings.host_announce_interval_seconds), "provisioner-host-watch"
    )
    runtime.spawn(ops.sweep_forever(), "provisioner-expiry")
    return runtime


def main() -> None:
    settings = ProvisionerSettings()
    setup_logging(settings.log_level)
    run(lambda: start(settings))
