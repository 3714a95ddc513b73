"""The provisioner's rules for requests: create, read, delete, extend, kubeconfigs and the
Kubernetes API proxy's per-request check. The long-running work (running the CLIs) is queued
and done by `operations.Operations`."""

import asyncio
import hashlib
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from pyk8s_contracts import clusters as c
from pyk8s_contracts.clusters import ClusterStatus as S
from pyk8s_contracts.common import utcnow
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.hosts import Host, HostAnnouncement, HostList, HostListRequest, HostRequest
from pyk8s_contracts.teams import Role
from pyk8s_kit import pages
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database

from . import access, kubeconfigs, kubernetes, placement, repository
from .access import TeamRoles
from .crypto import KubeconfigBox
from .drivers import CliError, Driver, Unavailable
from .events import emit, emit_admin_kubeconfig_read, enqueue
from .hosts import docker_endpoint
from .models import AdminKubeconfigRead, Cluster
from .models import Host as HostRow
from .settings import ProvisionerSettings

# The hosts announcing themselves now, by id (hosts.HostBoard.announced).
AnnouncedHosts = Callable[[], Awaitable[dict[str, HostAnnouncement]]]

RUNTIME_NAME_MAX = 32  # k3d's limit; kind's node names stay well inside 63 with it
HASH_LENGTH = 8


def runtime_name(name: str, cluster_id: uuid.UUID) -> str:
    """`<name prefix>-<hash>`: the hash of the cluster id keeps two scopes' clusters of the
    same name apart, and the name keeps `docker ps` readable."""
    digest = hashlib.sha256(cluster_id.bytes).hexdigest()[:HASH_LENGTH]
    prefix = name[: RUNTIME_NAME_MAX - HASH_LENGTH - 1].rstrip("-")
    return f"{prefix}-{digest}"


def _list_key(cluster: Cluster) -> tuple:
    return cluster.created_at, cluster.id


def to_contract(cluster: Cluster) -> c.Cluster:
    return c.Cluster.model_validate(cluster)


class ClusterService:
    def __init__(
        self,
        db: Database,
        settings: ProvisionerSettings,
        roles: TeamRoles,
        drivers: dict[c.Provider, Driver],
        announced: AnnouncedHosts,
    ) -> None:
        self.db = db
        self.settings = settings
        self.roles = roles
        self.drivers = drivers
        self.announced = announced
        self.box = KubeconfigBox(settings.kubeconfig_key)

    async def create(self, req: c.ClusterCreateRequest) -> c.Cluster:
        ttl = req.ttl_hours or self.settings.default_ttl_hours
        if ttl > self.settings.max_ttl_hours:
            raise ServiceError(
                ErrorCode.VALIDATION, f"ttl_hours may be at most {self.settings.max_ttl_hours}"
            )
        if req.team_id:
            await self._require_team_role(req.team_id, req.actor_id, Role.MEMBER)
        version = await self._version_for(req)
        announced = await self.announced()
        cluster_id = uuid.uuid4()
        try:
            async with self.db.session() as session:
                await repository.lock_scope(session, req.team_id, req.actor_id)
                await self._check_quota(session, req)
                if await repository.name_taken(session, req.name, req.team_id, req.actor_id):
                    raise self._name_conflict(req.name)
                host_id = await self._place(session, announced, req, version)
                cluster = Cluster(
                    id=cluster_id,
                    name=req.name,
                    team_id=req.team_id,
                    owner_id=req.actor_id,
                    provider=req.provider.value,
                    kubernetes_version=version,
                    workers=req.workers,
                    status=S.PENDING.value,
                    runtime_name=runtime_name(req.name, cluster_id),
                    created_at=utcnow(),
                    expires_at=utcnow() + timedelta(hours=ttl),
                    host_id=host_id,
                )
                session.add(cluster)
                await session.flush()
                emit(session, cluster, "created")
                enqueue(session, cluster, "create")
                return to_contract(cluster)
        except IntegrityError:
            raise self._name_conflict(req.name) from None

    @staticmethod
    async def _place(
        session, announced: dict[str, HostAnnouncement], req: c.ClusterCreateRequest, version
    ) -> str:
        """The host the cluster goes to; held until the transaction ends, so the next
        placement sees this one."""
        await repository.lock_placement(session)
        current = placement.loads(await repository.placed(session))
        drained = await repository.drained(session)
        try:
            return placement.place(announced, drained, current, req.provider, version, req.workers)
        except placement.NoHost as error:
            raise ServiceError(ErrorCode.UNAVAILABLE, str(error)) from None

    async def _version_for(self, req: c.ClusterCreateRequest) -> str | None:
        """The version the cluster will run, refused here when the provider cannot make it
        on this machine (see `providers`)."""
        try:
            return await self.drivers[req.provider].version_for(req.kubernetes_version)
        except Unavailable as error:
            raise ServiceError(
                ErrorCode.VALIDATION, str(error), {"available": list(error.available)}
            ) from None

    async def providers(self) -> c.ProviderList:
        """What each provider offers here: the drivers' probes, fresh for a few seconds."""
        offers = await asyncio.gather(*(driver.describe() for driver in self.drivers.values()))
        return c.ProviderList(providers=list(offers))

    @staticmethod
    def _name_conflict(name: str) -> ServiceError:
        # `field` names the request field at fault, so a form can mark it.
        return ServiceError(
            ErrorCode.CONFLICT, f"a cluster named {name!r} already exists here", {"field": "name"}
        )

    async def _check_quota(self, session, req: c.ClusterCreateRequest) -> None:
        quota = self.settings.team_quota if req.team_id else self.settings.personal_quota
        live = await repository.count_live(session, req.team_id, req.actor_id)
        if live >= quota:
            scope = "the team" if req.team_id else "your personal clusters"
            raise ServiceError(
                ErrorCode.QUOTA_EXCEEDED,
                f"quota reached: {scope} may have {quota} live clusters",
                {"quota": quota, "live": live},
            )

    async def _require_team_role(
        self, team_id: uuid.UUID, user_id: uuid.UUID, minimum: Role
    ) -> Role:
        role = await self.roles(team_id, user_id)
        if role is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "team not found")
        if not role.at_least(minimum):
            raise ServiceError(
                ErrorCode.FORBIDDEN, f"this needs the {minimum.value} role or higher in the team"
            )
        return role

    async def _authorized(self, req: c.ClusterRequest, action: str) -> Cluster:
        return (await self._allowed(req.cluster_id, req.actor_id, action))[0]

    async def _allowed(
        self, cluster_id: uuid.UUID, user_id: uuid.UUID, action: str
    ) -> tuple[Cluster, Role]:
        async with self.db.reading() as session:
            cluster = await repository.get(session, cluster_id)
        if cluster is None:
            raise access.not_found()
        return cluster, await access.require(self.roles, cluster, user_id, action)

    async def _readable(self, cluster_id: uuid.UUID, user_id: uuid.UUID, action: str) -> c.Cluster:
        """`_allowed` for answers that need only the contract, read straight on the driver:
        every read of a cluster and every peer's access check come this way."""
        row = await self.db.fetch_one(repository.CONTRACT_BY_ID, cluster_id=cluster_id)
        if row is None:
            raise access.not_found()
        cluster = c.Cluster.model_validate(dict(row))
        await access.require(self.roles, cluster, user_id, action)
        return cluster

    async def check_access(self, req: c.ClusterAccessRequest) -> c.Cluster:
        return await self._readable(req.cluster_id, req.user_id, req.action)

    async def get(self, req: c.ClusterRequest) -> c.Cluster:
        return await self._readable(req.cluster_id, req.actor_id, access.READ)

    async def list(self, req: c.ClusterListRequest) -> c.ClusterList:
        """A page of the clusters the actor may see. The actor's teams come from the teams
        service in one request, whatever their number."""
        scope = pages.fingerprint(
            "clusters",
            actor=req.actor_id,
            team=req.team_id,
            status=req.status,
            provider=req.provider,
            created_by=req.created_by,
        )
        position = pages.decode(req.cursor, scope)
        roles = await self.roles.many(req.actor_id, [req.team_id] if req.team_id else None)
        if req.team_id and req.team_id not in roles:
            raise ServiceError(ErrorCode.NOT_FOUND, "team not found")
        filters = repository.ClusterFilters(
            team_id=req.team_id,
            status=req.status,
            provider=req.provider,
            created_by=req.created_by,
        )
        async with self.db.session() as session:
            rows = await repository.visible(
                session, req.actor_id, list(roles), filters, position, req.limit
            )
        items, next_cursor = pages.page(rows, req.limit, scope, _list_key)
        return c.ClusterList(clusters=[to_contract(row) for row in items], next_cursor=next_cursor)

    async def delete(self, req: c.ClusterDeleteRequest) -> c.Cluster:
        """Idempotent: deleting a cluster that is already going or gone changes nothing."""
        await self._authorized(req, access.DELETE)
        async with self.db.session() as session:
            cluster = await repository.get(session, req.cluster_id, lock=True)
            if cluster.status not in (S.DELETING, S.DELETED):
                cluster.status = S.DELETING.value
                cluster.status_message = None
                cluster.deleted_by = req.actor_id
                cluster.deleted_by_email = req.actor_email
                await session.flush()
                emit(session, cluster, "deleting")
                enqueue(session, cluster, "delete")
            return to_contract(cluster)

    async def kubeconfig(self, req: c.KubeconfigRequest) -> c.Kubeconfig:
        """The kubeconfig people use: through the gateway at `req.server`, no secret inside."""
        cluster = await self._authorized(req, access.PROXY)
        self._require_ready(cluster)
        text = kubeconfigs.exec_kubeconfig(
            req.server, cluster.id, cluster.name, req.certificate_authority
        )
        return c.Kubeconfig(cluster_id=cluster.id, kubeconfig=text)

    async def proxy(self, req: c.ClusterProxyRequest) -> c.ClusterProxy:
        """Asked by the gateway on every Kubernetes API request: where the API server is, the
        credential to reach it with, and whom to impersonate for the caller's current role."""
        cluster, role = await self._allowed(req.cluster_id, req.actor_id, access.PROXY)
        try:
            credential = kubeconfigs.admin_credential(self._admin_kubeconfig(cluster))
        except kubeconfigs.KubeconfigError as error:
            raise ServiceError(ErrorCode.INTERNAL, str(error)) from None
        user, groups = kubernetes.impersonation(req.actor_id, role)
        return c.ClusterProxy(
            cluster_id=cluster.id,
            server=credential.server,
            certificate_authority=credential.certificate_authority,
            client_certificate=credential.client_certificate,
            client_key=credential.client_key,
            user=user,
            groups=groups,
        )

    async def admin_kubeconfig(self, req: c.ClusterRequest) -> c.Kubeconfig:
        """The raw admin kubeconfig (break-glass). Each download is recorded, and announced on
        the events stream, in the transaction that hands it out."""
        await self._authorized(req, access.ADMIN_KUBECONFIG)
        async with self.db.session() as session:
            cluster = await repository.get(session, req.cluster_id)
            kubeconfig = self._admin_kubeconfig(cluster)
            session.add(AdminKubeconfigRead(cluster_id=cluster.id, actor_id=req.actor_id))
            emit_admin_kubeconfig_read(session, cluster, req.actor_id)
        return c.Kubeconfig(cluster_id=cluster.id, kubeconfig=kubeconfig)

    @staticmethod
    def _require_ready(cluster: Cluster) -> None:
        if cluster.status != S.READY or not cluster.kubeconfig_encrypted:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"the cluster is {cluster.status}; its Kubernetes API opens once it is ready",
            )

    def _admin_kubeconfig(self, cluster: Cluster) -> str:
        """The stored admin kubeconfig of a ready cluster, decrypted."""
        self._require_ready(cluster)
        try:
            return self.box.open(cluster.kubeconfig_encrypted)
        except ValueError as error:
            raise ServiceError(ErrorCode.UNAVAILABLE, str(error)) from None

    async def extend(self, req: c.ClusterExtendRequest) -> c.Cluster:
        await self._authorized(req, access.USE)
        async with self.db.session() as session:
            cluster = await repository.get(session, req.cluster_id, lock=True)
            if cluster.status not in (S.PENDING, S.PROVISIONING, S.READY):
                raise ServiceError(
                    ErrorCode.CONFLICT, f"a {cluster.status} cluster cannot be extended"
                )
            limit = utcnow() + timedelta(hours=self.settings.max_ttl_hours)
            new_expiry = cluster.expires_at + timedelta(hours=req.hours)
            if new_expiry > limit:
                raise ServiceError(
                    ErrorCode.VALIDATION,
                    f"a cluster may live at most {self.settings.max_ttl_hours} hours from now; "
                    f"it expires at {cluster.expires_at.isoformat()}",
                    {"max_ttl_hours": self.settings.max_ttl_hours},
                )
            cluster.expires_at = new_expiry
            return to_contract(cluster)

    async def host_of(self, cluster_id: uuid.UUID) -> str:
        """The host a cluster lives on: where its terminal container is made."""
        async with self.db.session() as session:
            cluster = await repository.get(session, cluster_id)
        if cluster is None:
            raise access.not_found()
        return cluster.host_id

    async def node(self, req: c.ClusterNodeRequest) -> c.ClusterNode:
        """The terminal's container, made on this host's engine: only this host's processes
        answer for its clusters (kwok's shell needs the cluster's files kept here)."""
        async with self.db.session() as session:
            cluster = await repository.get(session, req.cluster_id)
        if cluster is None:
            raise access.not_found()
        if cluster.host_id != self.settings.host_id:
            raise ServiceError(
                ErrorCode.CONFLICT,
                f"the cluster is on host {cluster.host_id}, not {self.settings.host_id}",
            )
        driver = self.drivers[c.Provider(cluster.provider)]
        container = driver.node_container(cluster.runtime_name)
        if cluster.status == S.READY:
            try:
                container = await driver.terminal_container(cluster.runtime_name)
            except CliError as error:
                raise ServiceError(
                    ErrorCode.UNAVAILABLE, f"could not start the cluster's shell container: {error}"
                ) from None
        return c.ClusterNode(
            cluster_id=cluster.id,
            status=cluster.status,
            container=container,
            host_id=cluster.host_id,
            docker_host=docker_endpoint(),
        )

    async def team_count(self, team_id: uuid.UUID) -> int:
        async with self.db.session() as session:
            return await repository.count_team(session, team_id)


class HostService:
    """The pool of Docker hosts for platform admins (the bus layer has checked the role):
    each host announcing itself or known to the database, and draining."""

    def __init__(self, db: Database, announced: AnnouncedHosts) -> None:
        self.db = db
        self.announced = announced

    async def list(self, req: HostListRequest) -> HostList:
        announced = await self.announced()
        async with self.db.session() as session:
            rows = {row.id: row for row in await repository.hosts(session)}
            current = placement.loads(await repository.placed(session))
        ids = sorted(set(announced) | set(rows) | set(current))
        return HostList(
            hosts=[self._host(i, announced.get(i), rows.get(i), current.get(i)) for i in ids]
        )

    @staticmethod
    def _host(host_id, announcement, row, load) -> Host:
        load = load or placement.Load()
        return Host(
            id=host_id,
            reachable=announcement is not None,
            drained=bool(row and row.drained),
            clusters=load.clusters,
            memory_used_bytes=load.memory_bytes,
            announcement=announcement,
        )

    async def drain(self, req: HostRequest) -> Host:
        """No new cluster is placed on the host; those on it keep running."""
        return await self._set_drained(req, True)

    async def undrain(self, req: HostRequest) -> Host:
        return await self._set_drained(req, False)

    async def _set_drained(self, req: HostRequest, drained: bool) -> Host:
        announced = await self.announced()
        async with self.db.session() as session:
            row = await repository.host(session, req.host_id, lock=True)
            load = placement.loads(await repository.placed(session)).get(req.host_id)
            if row is None and req.host_id not in announced and load is None:
                raise ServiceError(ErrorCode.NOT_FOUND, f"no Docker host {req.host_id!r}")
            if row is None:
                row = HostRow(id=req.host_id)
                session.add(row)
            row.drained = drained
            row.changed_by = req.actor_id
            await session.flush()
            return self._host(req.host_id, announced.get(req.host_id), row, load)
