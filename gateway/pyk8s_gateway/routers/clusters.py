"""Clusters: create, list, read, delete, extend, kubeconfigs. The gateway checks team roles
first where a team is named; the provisioner applies the cluster rules."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from pyk8s_contracts import clusters as c
from pyk8s_contracts import subjects
from pyk8s_contracts.auth import MeRequest, User
from pyk8s_contracts.common import Contract
from pyk8s_contracts.teams import Role
from pyk8s_kit.bus import request

from ..deps import Bus, CurrentUser, Settings
from ..pages import PageQuery, link_next
from ..rbac import require_team_role
from ..settings import GatewaySettings
from .kubernetes import PREFIX as KUBERNETES_PREFIX

router = APIRouter(prefix="/clusters", tags=["clusters"])


def with_endpoint(cluster: c.Cluster, settings: GatewaySettings) -> c.Cluster:
    """The cluster with the URL people reach its Kubernetes API at, once it is ready."""
    if cluster.status != c.ClusterStatus.READY:
        return cluster
    endpoint = f"{settings.public_urls()[0].rstrip('/')}{KUBERNETES_PREFIX}/{cluster.id}"
    return cluster.model_copy(update={"endpoint": endpoint})


class ClusterCreateBody(Contract):
    name: c.ClusterName
    provider: c.Provider
    team_id: UUID | None = None
    kubernetes_version: c.KubernetesVersion | None = None
    workers: c.Workers = 0
    ttl_hours: c.Hours | None = None


class ExtendBody(Contract):
    hours: c.Hours


@router.post("", status_code=202, response_model=c.Cluster)
async def create_cluster(
    body: ClusterCreateBody, bus: Bus, user: CurrentUser, response: Response
) -> c.Cluster:
    """Queue a new cluster (personal, or for a team where the caller is member or above).
    It starts `pending`; follow it on `GET /events/clusters` or by reading it."""
    if body.team_id:
        await require_team_role(bus, body.team_id, user.user_id, Role.MEMBER)
    payload = c.ClusterCreateRequest(actor_id=user.user_id, **body.model_dump())
    cluster = await request(
        bus, subjects.PROVISIONER_CLUSTER_CREATE, payload, c.Cluster, actor=user.assertion
    )
    response.headers["Location"] = f"/api/v1/clusters/{cluster.id}"
    return cluster


@router.get("", response_model=c.ClusterList)
async def list_clusters(
    bus: Bus,
    user: CurrentUser,
    settings: Settings,
    page: PageQuery,
    http: Request,
    response: Response,
    team_id: Annotated[UUID | None, Query(description="Only this team's clusters.")] = None,
    status: Annotated[
        c.ClusterStatus | None,
        Query(description="Only clusters in this state (deleted ones only when asked)."),
    ] = None,
    provider: Annotated[c.Provider | None, Query()] = None,
    created_by: Annotated[UUID | None, Query(description="Only clusters this user made.")] = None,
) -> c.ClusterList:
    """The caller's personal clusters and those of the caller's teams, newest first, a page
    at a time: follow `next_cursor` (or the `Link` header) with the same filters."""
    if team_id:
        await require_team_role(bus, team_id, user.user_id, Role.VIEWER)
    payload = c.ClusterListRequest(
        actor_id=user.user_id,
        limit=page.limit,
        cursor=page.cursor,
        team_id=team_id,
        status=status,
        provider=provider,
        created_by=created_by,
    )
    listed = await request(
        bus, subjects.PROVISIONER_CLUSTER_LIST, payload, c.ClusterList, actor=user.assertion
    )
    link_next(http, response, listed.next_cursor)
    clusters = [with_endpoint(cluster, settings) for cluster in listed.clusters]
    return listed.model_copy(update={"clusters": clusters})


@router.get("/{cluster_id}", response_model=c.Cluster)
async def get_cluster(
    cluster_id: UUID, bus: Bus, user: CurrentUser, settings: Settings
) -> c.Cluster:
    """The owner of a personal cluster, or a viewer or above of the cluster's team. Once
    ready, `endpoint` is where kubectl reaches it (this gateway's proxy)."""
    payload = c.ClusterRequest(actor_id=user.user_id, cluster_id=cluster_id)
    cluster = await request(
        bus, subjects.PROVISIONER_CLUSTER_GET, payload, c.Cluster, actor=user.assertion
    )
    return with_endpoint(cluster, settings)


@router.delete("/{cluster_id}", status_code=202, response_model=c.Cluster)
async def delete_cluster(cluster_id: UUID, bus: Bus, user: CurrentUser) -> c.Cluster:
    """Queue the deletion (idempotent). The creator (while member or above), or an admin or
    owner of the team. The cluster then names who deleted it (`deleted_by`,
    `deleted_by_email`) to everyone who sees it."""
    me = await request(
        bus, subjects.AUTH_ME, MeRequest(actor_id=user.user_id), User, actor=user.assertion
    )
    payload = c.ClusterDeleteRequest(
        actor_id=user.user_id, cluster_id=cluster_id, actor_email=me.email
    )
    return await request(
        bus,
        subjects.PROVISIONER_CLUSTER_DELETE,
        payload,
        c.Cluster,
        timeout=10,
        actor=user.assertion,
    )


@router.get("/{cluster_id}/kubeconfig", response_model=c.Kubeconfig)
async def get_kubeconfig(
    cluster_id: UUID, bus: Bus, user: CurrentUser, settings: Settings, http: Request
) -> c.Kubeconfig:
    """A kubeconfig for the cluster (once ready) through this gateway's Kubernetes API proxy:
    kubectl gets a token from the `pyk8s` CLI (`pyk8s kube-credential`), and acts with the
    caller's current team role. No secret inside. A viewer or above of the cluster's team, or
    the owner of a personal cluster."""
    payload = c.KubeconfigRequest(
        actor_id=user.user_id,
        cluster_id=cluster_id,
        server=settings.public_urls()[0],
        certificate_authority=http.app.state.public_ca,
    )
    return await request(
        bus, subjects.PROVISIONER_CLUSTER_KUBECONFIG, payload, c.Kubeconfig, actor=user.assertion
    )


@router.get("/{cluster_id}/kubeconfig/admin", response_model=c.Kubeconfig)
async def get_admin_kubeconfig(cluster_id: UUID, bus: Bus, user: CurrentUser) -> c.Kubeconfig:
    """The cluster's own admin kubeconfig (once ready), for when the proxy is not enough:
    full control, straight to the API server, valid until the cluster is deleted. An admin or
    owner of the cluster's team, or the owner of a personal cluster. Every download is
    recorded and announced as a `pyk8s.events.cluster.admin_kubeconfig_read` event."""
    payload = c.ClusterRequest(actor_id=user.user_id, cluster_id=cluster_id)
    return await request(
        bus,
        subjects.PROVISIONER_CLUSTER_ADMIN_KUBECONFIG,
        payload,
        c.Kubeconfig,
        actor=user.assertion,
    )


@router.post("/{cluster_id}/extend", response_model=c.Cluster)
async def extend_cluster(
    cluster_id: UUID, body: ExtendBody, bus: Bus, user: CurrentUser
) -> c.Cluster:
    """Push the expiry back by `hours`, up to the maximum time-to-live from now."""
    payload = c.ClusterExtendRequest(actor_id=user.user_id, cluster_id=cluster_id, hours=body.hours)
    return await request(
        bus, subjects.PROVISIONER_CLUSTER_EXTEND, payload, c.Cluster, actor=user.assertion
    )
