"""The long-running work: creating and deleting runtime clusters with the CLIs, resuming
after a crash, expiring clusters past their time-to-live, and following their hosts: the
clusters of a host that stops announcing itself turn unreachable, and ready again once it is
back. Every state change and its
event are written in one transaction, guarded by the status it moves from, so work that is
redelivered never emits an event twice."""

import asyncio
import logging
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text

from pyk8s_contracts.clusters import ClusterStatus as S
from pyk8s_contracts.clusters import Provider
from pyk8s_contracts.common import utcnow
from pyk8s_kit.db import Database

from . import kubeconfigs, repository
from .crypto import KubeconfigBox
from .drivers import CliError, CreateSpec, Driver, api_server_of
from .events import emit, enqueue
from .models import Cluster
from .settings import ProvisionerSettings

log = logging.getLogger(__name__)

LOCK_POLL_SECONDS = 0.25
# Advisory-lock namespace of creation slots (two-key locks do not meet the cluster locks).
CREATION_SLOTS = 7351


def lock_key(cluster_id: uuid.UUID) -> int:
    return int.from_bytes(cluster_id.bytes[:8], "big", signed=True)


class Operations:
    def __init__(
        self, db: Database, settings: ProvisionerSettings, drivers: dict[Provider, Driver]
    ) -> None:
        self.db = db
        self.settings = settings
        self.drivers = drivers
        self.box = KubeconfigBox(settings.kubeconfig_key)

    def driver(self, cluster: Cluster) -> Driver:
        return self.drivers[Provider(cluster.provider)]

    def work_dir(self, cluster: Cluster) -> Path:
        return self.settings.work_dir / cluster.runtime_name

    @asynccontextmanager
    async def exclusive(self, cluster_id: uuid.UUID) -> AsyncIterator[None]:
        """One operation per cluster across every replica: a session advisory lock, which
        PostgreSQL releases by itself if the holder dies."""
        async with self.db.engine.connect() as conn:
            key = lock_key(cluster_id)
            while not (
                await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
            ).scalar():
                await asyncio.sleep(LOCK_POLL_SECONDS)
            try:
                yield
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()

    @asynccontextmanager
    async def creation_slot(self) -> AsyncIterator[None]:
        """At most `max_concurrent_creates` creations at once across every replica: each
        holds one of that many advisory locks for as long as it runs."""
        async with self.db.engine.connect() as conn:
            while True:
                for slot in range(self.settings.max_concurrent_creates):
                    taken = await conn.execute(
                        text("SELECT pg_try_advisory_lock(:ns, :slot)"),
                        {"ns": CREATION_SLOTS, "slot": slot},
                    )
                    if taken.scalar():
                        try:
                            yield
                        finally:
                            await conn.execute(
                                text("SELECT pg_advisory_unlock(:ns, :slot)"),
                                {"ns": CREATION_SLOTS, "slot": slot},
                            )
                            await conn.commit()
                        return
                await asyncio.sleep(LOCK_POLL_SECONDS)

    # create

    async def create(self, cluster_id: uuid.UUID) -> None:
        async with self.exclusive(cluster_id), self.creation_slot():
            cluster = await self._start_provisioning(cluster_id)
            if cluster is None:
                return
            try:
                kubeconfig = await self._ensure_runtime(cluster)
                # Before ready: whoever gets in through the platform finds their role bound.
                await self.driver(cluster).apply_bindings(cluster.runtime_name)
            except CliError as error:
                await self._remove_leftovers(cluster)
                await self._finish(cluster_id, S.FAILED, str(error))
                return
            finally:
                shutil.rmtree(self.work_dir(cluster), ignore_errors=True)
            await self._finish(cluster_id, S.READY, None, kubeconfig)

    async def _start_provisioning(self, cluster_id: uuid.UUID) -> Cluster | None:
        async with self.db.session() as session:
            cluster = await repository.get(session, cluster_id, lock=True)
            if cluster is None or cluster.status not in (S.PENDING, S.PROVISIONING):
                return None
            if cluster.status == S.PENDING:
                cluster.status = S.PROVISIONING.value
                await session.flush()
                emit(session, cluster, "provisioning")
            return cluster

    async def _ensure_runtime(self, cluster: Cluster) -> str:
        """Adopt a complete runtime cluster left by an earlier attempt, or create it."""
        driver = self.driver(cluster)
        if await driver.exists(cluster.runtime_name):
            kubeconfig = await self._adoptable(cluster)
            if kubeconfig is not None:
                log.info("adopting existing runtime cluster %s", cluster.runtime_name)
                return kubeconfig
            await driver.delete(cluster.runtime_name, self.work_dir(cluster))
        spec = CreateSpec(
            cluster.runtime_name,
            cluster.kubernetes_version,
            cluster.workers,
            self.work_dir(cluster),
        )
        log.info("creating %s cluster %s", cluster.provider, cluster.runtime_name)
        return await driver.create(spec)

    async def _adoptable(self, cluster: Cluster) -> str | None:
        """The kubeconfig of a runtime cluster that has every node asked for, running; None
        when it must be made again (a crash can stop the CLI between two nodes, and neither
        kind nor k3d can add the missing ones to a cluster they did not finish, and a kwok
        cluster cut short may lack a component or its nodes)."""
        driver = self.driver(cluster)
        missing = await driver.missing_nodes(cluster.runtime_name, cluster.workers)
        if missing:
            log.info(
                "removing incomplete runtime cluster %s (%s) before creating it again",
                cluster.runtime_name,
                ", ".join(missing),
            )
            return None
        try:
            return await driver.kubeconfig(cluster.runtime_name)
        except CliError:
            log.info(
                "removing unusable runtime cluster %s before creating it again",
                cluster.runtime_name,
            )
            return None

    async def _remove_leftovers(self, cluster: Cluster) -> None:
        try:
            await self.driver(cluster).discard(cluster.runtime_name, self.work_dir(cluster))
        except CliError as error:
            log.warning(
                "could not remove what a failed create left of %s: %s", cluster.runtime_name, error
            )

    async def _finish(
        self, cluster_id: uuid.UUID, status: S, message: str | None, kubeconfig: str | None = None
    ) -> None:
        async with self.db.session() as session:
            cluster = await repository.get(session, cluster_id, lock=True)
            # A delete asked for meanwhile wins; its own work removes the runtime cluster.
            if cluster is None or cluster.status != S.PROVISIONING:
                return
            cluster.status = status.value
            cluster.status_message = message
            if kubeconfig is not None:
                if self.settings.host_address:
                    kubeconfig = kubeconfigs.reachable_at(kubeconfig, self.settings.host_address)
                cluster.kubeconfig_encrypted = self.box.seal(kubeconfig)
                cluster.api_server = api_server_of(kubeconfig)
                cluster.ready_at = utcnow()
            await session.flush()
            emit(session, cluster, "ready" if status == S.READY else "failed")

    # delete

    async def delete(self, cluster_id: uuid.UUID) -> None:
        """Raises CliError when the CLI fails, so the work is retried."""
        async with self.exclusive(cluster_id):
            async with self.db.session() as session:
                cluster = await repository.get(session, cluster_id)
            if cluster is None or cluster.status != S.DELETING:
                return
            driver = self.driver(cluster)
            try:
                if await driver.exists(cluster.runtime_name):
                    await driver.delete(cluster.runtime_name, self.work_dir(cluster))
            finally:
                shutil.rmtree(self.work_dir(cluster), ignore_errors=True)
            await self._mark_deleted(cluster_id)

    async def _mark_deleted(self, cluster_id: uuid.UUID) -> None:
        async with self.db.session() as session:
            cluster = await repository.get(session, cluster_id, lock=True)
            if cluster is None or cluster.status != S.DELETING:
                return
            cluster.status = S.DELETED.value
            cluster.kubeconfig_encrypted = None
            cluster.api_server = None
            cluster.deleted_at = utcnow()
            await session.flush()
            emit(session, cluster, "deleted")

    async def give_up(self, cluster_id: uuid.UUID, action: str, reason: str) -> None:
        """The work failed on every delivery: say so on the cluster instead of forgetting it."""
        expected = S.PROVISIONING if action == "create" else S.DELETING
        async with self.db.session() as session:
            cluster = await repository.get(session, cluster_id, lock=True)
            if cluster is None or cluster.status not in (expected, S.PENDING):
                return
            cluster.status = S.FAILED.value
            cluster.status_message = f"{action} failed: {reason}"[:2000]
            await session.flush()
            emit(session, cluster, "failed")

    # start-up reconciliation and expiry

    async def reconcile(self) -> None:
        """Resume what a crash interrupted on this host and remove runtime clusters the
        database says are deleted. Work queued twice is harmless: every step is idempotent."""
        host = self.settings.host_id
        async with self.db.session() as session:
            for cluster in await repository.in_status(session, (S.PENDING, S.PROVISIONING), host):
                enqueue(session, cluster, "create")
            for cluster in await repository.in_status(session, (S.DELETING,), host):
                enqueue(session, cluster, "delete")
        for provider, driver in self.drivers.items():
            await self._remove_deleted_runtimes(provider, driver)

    async def _remove_deleted_runtimes(self, provider: Provider, driver: Driver) -> None:
        try:
            names = await driver.list()
        except CliError as error:
            log.warning("cannot list %s clusters: %s", provider.value, error)
            return
        async with self.db.session() as session:
            stale = await repository.runtime_names(session, provider.value, names, (S.DELETED,))
        for cluster in stale:
            log.info(
                "removing %s cluster %s, deleted in the database",
                provider.value,
                cluster.runtime_name,
            )
            try:
                await driver.delete(cluster.runtime_name, self.work_dir(cluster))
            except CliError as error:
                log.warning("could not remove %s: %s", cluster.runtime_name, error)

    async def expire(self) -> int:
        async with self.db.session() as session:
            clusters = await repository.expired(session, utcnow())
            for cluster in clusters:
                cluster.status = S.DELETING.value
                cluster.status_message = "expired"
                await session.flush()
                emit(session, cluster, "expired")
                enqueue(session, cluster, "delete")
            return len(clusters)

    # hosts

    async def host_cluster_count(self) -> int:
        async with self.db.session() as session:
            return await repository.count_on_host(session, self.settings.host_id)

    async def mark_unreachable(self, alive: set[str]) -> int:
        """Ready clusters of hosts not in `alive` turn unreachable, each once."""
        async with self.db.session() as session:
            clusters = await repository.on_silent_hosts(session, alive)
            for cluster in clusters:
                cluster.status = S.UNREACHABLE.value
                cluster.status_message = (
                    f"its Docker host {cluster.host_id} stopped announcing itself"
                )
                await session.flush()
                emit(session, cluster, "unreachable")
            return len(clusters)

    async def recover_unreachable(self) -> None:
        """This host announces itself again: each of its unreachable clusters whose runtime
        cluster still has every node running is ready again; one that lost nodes meanwhile
        failed (its runtime cluster is what the host says, not what it was)."""
        async with self.db.session() as session:
            clusters = await repository.in_status(session, (S.UNREACHABLE,), self.settings.host_id)
        for cluster in clusters:
            async with self.exclusive(cluster.id):
                try:
                    missing = await self.driver(cluster).missing_nodes(
                        cluster.runtime_name, cluster.workers
                    )
                except CliError as error:
                    log.warning("cannot check %s: %s", cluster.runtime_name, error)
                    continue
                message = (
                    None
                    if not missing
                    else "lost while its host was unreachable: " + ", ".join(missing)
                )
                await self._back_from_unreachable(cluster.id, message)

    async def _back_from_unreachable(self, cluster_id: uuid.UUID, lost: str | None) -> None:
        async with self.db.session() as session:
            cluster = await repository.get(session, cluster_id, lock=True)
            if cluster is None or cluster.status != S.UNREACHABLE:
                return
            cluster.status = (S.FAILED if lost else S.READY).value
            cluster.status_message = lost
            await session.flush()
            emit(session, cluster, "failed" if lost else "ready")

    async def sweep_forever(self) -> None:
        while True:
            try:
                expired = await self.expire()
                if expired:
                    log.info("expired %d clusters", expired)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("expiry sweep failed")
            await asyncio.sleep(self.settings.sweep_interval_seconds)
