"""The pool of Docker hosts, for platform admins only: the gateway checks the role in the
caller's token, and the provisioner checks the token again (`ByPlatformAdmin` requests)."""

from fastapi import APIRouter

from pyk8s_contracts import hosts as hosts_contract
from pyk8s_contracts import subjects
from pyk8s_kit.bus import request

from ..deps import Bus, CurrentUser
from ..rbac import require_platform_admin

router = APIRouter(prefix="/hosts", tags=["hosts"])


@router.get("", response_model=hosts_contract.HostList)
async def list_hosts(bus: Bus, user: CurrentUser) -> hosts_contract.HostList:
    """Every Docker host that announces itself, is drained, or holds clusters: reachable or
    not, drained or not, its clusters and its latest announcement (capacity, memory,
    providers and their Kubernetes versions)."""
    require_platform_admin(user)
    payload = hosts_contract.HostListRequest(actor_id=user.user_id)
    return await request(
        bus, subjects.PROVISIONER_HOST_LIST, payload, hosts_contract.HostList, actor=user.assertion
    )


@router.post("/{host_id}/drain", response_model=hosts_contract.Host)
async def drain_host(
    host_id: hosts_contract.HostId, bus: Bus, user: CurrentUser
) -> hosts_contract.Host:
    """No new cluster is placed on the host; the clusters on it keep running."""
    return await _set(subjects.PROVISIONER_HOST_DRAIN, host_id, bus, user)


@router.post("/{host_id}/undrain", response_model=hosts_contract.Host)
async def undrain_host(
    host_id: hosts_contract.HostId, bus: Bus, user: CurrentUser
) -> hosts_contract.Host:
    """The host takes new clusters again."""
    return await _set(subjects.PROVISIONER_HOST_UNDRAIN, host_id, bus, user)


async def _set(subject: str, host_id: str, bus, user) -> hosts_contract.Host:
    require_platform_admin(user)
    payload = hosts_contract.HostRequest(actor_id=user.user_id, host_id=host_id)
    return await request(bus, subject, payload, hosts_contract.Host, actor=user.assertion)
