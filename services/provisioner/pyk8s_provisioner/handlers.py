"""One function per NATS subject: decode contract -> call service -> reply."""

from nats.aio.client import Client as NATS

from pyk8s_contracts import clusters as c
from pyk8s_contracts import hosts as hosts_contract
from pyk8s_contracts import subjects
from pyk8s_contracts.teams import TeamClusterCountReply, TeamClusterCountRequest
from pyk8s_kit.bus import Router, request

from .service import ClusterService, HostService


def build_router(service: ClusterService, hosts: HostService, nc: NATS, host_id: str) -> Router:
    """`host_id`: the Docker host this process serves; its `provisioner.node.<host>` requests
    come here."""
    router = Router()

    @router.endpoint(subjects.PROVISIONER_HOST_LIST, hosts_contract.HostListRequest)
    async def list_hosts(req: hosts_contract.HostListRequest) -> hosts_contract.HostList:
        return await hosts.list(req)

    @router.endpoint(subjects.PROVISIONER_HOST_DRAIN, hosts_contract.HostRequest)
    async def drain(req: hosts_contract.HostRequest) -> hosts_contract.Host:
        return await hosts.drain(req)

    @router.endpoint(subjects.PROVISIONER_HOST_UNDRAIN, hosts_contract.HostRequest)
    async def undrain(req: hosts_contract.HostRequest) -> hosts_contract.Host:
        return await hosts.undrain(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_CREATE, c.ClusterCreateRequest)
    async def create(req: c.ClusterCreateRequest) -> c.Cluster:
        return await service.create(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_LIST, c.ClusterListRequest)
    async def list_clusters(req: c.ClusterListRequest) -> c.ClusterList:
        return await service.list(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_GET, c.ClusterRequest, concurrent=True)
    async def get(req: c.ClusterRequest) -> c.Cluster:
        return await service.get(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_DELETE, c.ClusterDeleteRequest)
    async def delete(req: c.ClusterDeleteRequest) -> c.Cluster:
        return await service.delete(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_EXTEND, c.ClusterExtendRequest)
    async def extend(req: c.ClusterExtendRequest) -> c.Cluster:
        return await service.extend(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_KUBECONFIG, c.KubeconfigRequest)
    async def kubeconfig(req: c.KubeconfigRequest) -> c.Kubeconfig:
        return await service.kubeconfig(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_ADMIN_KUBECONFIG, c.ClusterRequest)
    async def admin_kubeconfig(req: c.ClusterRequest) -> c.Kubeconfig:
        return await service.admin_kubeconfig(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_PROXY, c.ClusterProxyRequest)
    async def proxy(req: c.ClusterProxyRequest) -> c.ClusterProxy:
        return await service.proxy(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_ACCESS, c.ClusterAccessRequest, concurrent=True)
    async def check_access(req: c.ClusterAccessRequest) -> c.Cluster:
        return await service.check_access(req)

    @router.endpoint(subjects.PROVISIONER_CLUSTER_NODE, c.ClusterNodeRequest, concurrent=True)
    async def node(req: c.ClusterNodeRequest) -> c.ClusterNode:
        # Whichever replica took it, the cluster's host makes the container.
        host = await service.host_of(req.cluster_id)
        return await request(nc, subjects.host_node(host), req, c.ClusterNode)

    @router.endpoint(subjects.host_node(host_id), c.ClusterNodeRequest)
    async def node_here(req: c.ClusterNodeRequest) -> c.ClusterNode:
        return await service.node(req)

    @router.endpoint(subjects.PROVISIONER_PROVIDERS_LIST, c.ProvidersRequest)
    async def providers(req: c.ProvidersRequest) -> c.ProviderList:
        return await service.providers()

    @router.endpoint(subjects.PROVISIONER_TEAM_COUNT, TeamClusterCountRequest)
    async def team_count(req: TeamClusterCountRequest) -> TeamClusterCountReply:
        return TeamClusterCountReply(count=await service.team_count(req.team_id))

    return router
