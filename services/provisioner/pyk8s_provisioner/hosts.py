"""Docker hosts announce themselves in a JetStream key-value bucket whose entries expire:
a host is reachable exactly as long as its latest announcement is younger than the deadline.

Why a bucket with a maximum age rather than heartbeats into the database: the announcement
says the worker reaches NATS, which is where its work comes from, so a worker cut off from
NATS drops out of placement by itself; nobody has to clean up after a host that vanished
(the server removes its key); and the bucket is replicated like every stream (R3 on a NATS
cluster). Drains are decisions, not liveness, and live in the provisioner's database."""

import asyncio
import logging
import os
from datetime import timedelta

from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BadRequestError, KeyNotFoundError
from nats.js.kv import KeyValue
from pydantic import ValidationError

from pyk8s_contracts import subjects
from pyk8s_contracts.clusters import Provider
from pyk8s_contracts.common import utcnow
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.hosts import HostAnnouncement, HostProvider
from pyk8s_kit.bus import ServiceError

from .drivers import CliError, Driver
from .drivers.process import run_checked
from .operations import Operations
from .settings import ProvisionerSettings

log = logging.getLogger(__name__)

BUCKET = subjects.HOSTS_BUCKET
READ_TIMEOUT_SECONDS = 5.0
LOCAL_SOCKET = "unix:///var/run/docker.sock"


def docker_endpoint() -> str:
    """The engine this process's CLIs reach, as the docker CLI picks it."""
    return os.environ.get("DOCKER_HOST") or LOCAL_SOCKET


class HostBoard:
    """The hosts bucket: each host's latest announcement under its id."""

    def __init__(self, js: JetStreamContext, kv: KeyValue, deadline_seconds: float) -> None:
        self.js = js
        self.kv = kv
        self.deadline = timedelta(seconds=deadline_seconds)

    @classmethod
    async def open(
        cls, js: JetStreamContext, replicas: int, deadline_seconds: float
    ) -> "HostBoard":
        """The bucket, created, or brought to this deadline and replica count."""
        config = KeyValueConfig(
            bucket=BUCKET,
            history=1,
            ttl=deadline_seconds,
            storage=StorageType.FILE,
            replicas=replicas,
        )
        try:
            kv = await js.create_key_value(config)
        except BadRequestError:
            stream = f"KV_{BUCKET}"
            current = (await js.stream_info(stream)).config
            current.max_age = deadline_seconds
            current.num_replicas = replicas
            await js.update_stream(current)
            kv = await js.key_value(BUCKET)
        return cls(js, kv, deadline_seconds)

    async def announce(self, announcement: HostAnnouncement) -> None:
        await self.kv.put(announcement.host_id, announcement.model_dump_json().encode())

    async def announced(self) -> dict[str, HostAnnouncement]:
        """Every host announcing itself now, by id; raises ServiceError when NATS does not
        answer (nothing can be placed then, and nobody may be declared unreachable)."""
        try:
            entries = await asyncio.wait_for(self._read(), READ_TIMEOUT_SECONDS)
        except Exception as error:
            raise ServiceError(
                ErrorCode.UNAVAILABLE, f"the Docker hosts' announcements cannot be read: {error}"
            ) from None
        oldest = utcnow() - self.deadline
        return {a.host_id: a for a in entries if a.announced_at >= oldest}

    async def _read(self) -> list[HostAnnouncement]:
        """The keys from the stream's per-subject state, then each key's latest value. Not a
        key watcher: one may report "nothing there" before the first entry reaches it."""
        prefix = f"$KV.{BUCKET}."
        info = await self.js.stream_info(f"KV_{BUCKET}", subjects_filter=f"{prefix}>")
        found = []
        for subject in sorted(info.state.subjects or {}):
            key = subject.removeprefix(prefix)
            try:
                entry = await self.kv.get(key)
            except KeyNotFoundError:  # expired since
                continue
            try:
                found.append(HostAnnouncement.model_validate_json(entry.value))
            except ValidationError:
                log.warning("ignoring a malformed announcement under %s", key)
        return found


async def offered(provider: Provider, driver: Driver) -> HostProvider:
    """Whether this host can make `provider`'s clusters, and in which versions (what the
    driver describes, its probe reused while fresh)."""
    info = await driver.describe()
    if not info.available:
        return HostProvider(name=provider, available=False)
    return HostProvider(name=provider, available=True, kubernetes_versions=list(info.versions))


async def engine_memory() -> int | None:
    """The Docker engine's total memory, None when the engine does not answer."""
    try:
        result = await run_checked(["docker", "info", "--format", "{{.MemTotal}}"], 30)
        return int(result.stdout.strip())
    except (CliError, ValueError):
        return None


def machine_memory() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class HostAgent:
    """Announces this process's host every interval, and brings its clusters that were
    marked unreachable back once it announces again."""

    def __init__(
        self,
        board: HostBoard,
        ops: Operations,
        settings: ProvisionerSettings,
        drivers: dict[Provider, Driver],
    ) -> None:
        self.board = board
        self.ops = ops
        self.settings = settings
        self.drivers = drivers
        self._memory: int | None = None

    async def memory(self) -> int:
        if self.settings.host_memory_mb is not None:
            return self.settings.host_memory_mb * 1024 * 1024
        if self._memory is None:
            self._memory = await engine_memory()
        # kwok's clusters need no engine: without one, the machine's memory stands in.
        return self._memory if self._memory is not None else machine_memory()

    async def announcement(self) -> HostAnnouncement:
        return HostAnnouncement(
            host_id=self.settings.host_id,
            docker_host=docker_endpoint(),
            address=self.settings.host_address,
            max_clusters=self.settings.host_max_clusters,
            memory_bytes=await self.memory(),
            providers=[await offered(p, driver) for p, driver in self.drivers.items()],
            clusters=await self.ops.host_cluster_count(),
            announced_at=utcnow(),
        )

    async def announce(self) -> None:
        await self.board.announce(await self.announcement())

    async def run(self) -> None:
        while True:
            try:
                await self.announce()
                await self.ops.recover_unreachable()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("announcing host %s failed", self.settings.host_id)
            await asyncio.sleep(self.settings.host_announce_interval_seconds)


async def watch_hosts(board: HostBoard, ops: Operations, interval: float) -> None:
    """Marks the clusters of hosts that stopped announcing unreachable. Every replica runs
    it: each change locks its row and is guarded by the status it moves from, so two
    replicas marking the same cluster change it, and announce it, once."""
    while True:
        try:
            alive = set(await board.announced())
            marked = await ops.mark_unreachable(alive)
            if marked:
                log.warning("%d clusters on silent hosts are unreachable", marked)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("checking the hosts failed")
        await asyncio.sleep(interval)
