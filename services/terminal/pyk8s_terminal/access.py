"""Who may open a shell on a cluster: its creator, or a member (or higher) of its team. Asked of
the provisioner and the teams service at opening and again while the session lives."""

import uuid

from nats.aio.client import Client as NATS

from pyk8s_contracts import subjects
from pyk8s_contracts.clusters import Cluster, ClusterRequest, ClusterStatus
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.teams import MembershipReply, MembershipRequest, Role
from pyk8s_kit.bus import ServiceError, request

GONE = (ClusterStatus.DELETING, ClusterStatus.DELETED)


class Denied(Exception):
    def __init__(self, code: ErrorCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def service_error(self) -> ServiceError:
        return ServiceError(self.code, self.reason)


async def fetch_cluster(nc: NATS, cluster_id: uuid.UUID, user_id: uuid.UUID) -> Cluster:
    try:
        return await request(
            nc,
            subjects.PROVISIONER_CLUSTER_GET,
            ClusterRequest(actor_id=user_id, cluster_id=cluster_id),
            Cluster,
        )
    except ServiceError as error:
        if error.code in (ErrorCode.NOT_FOUND, ErrorCode.FORBIDDEN):
            raise Denied(ErrorCode.NOT_FOUND, "cluster not found") from None
        raise


async def team_role(nc: NATS, team_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
    reply = await request(
        nc,
        subjects.TEAMS_MEMBERSHIP,
        MembershipRequest(team_id=team_id, user_id=user_id),
        MembershipReply,
    )
    return reply.role


async def check_access(nc: NATS, cluster_id: uuid.UUID, user_id: uuid.UUID) -> Cluster:
    """Returns the cluster when `user_id` may open a shell on it; raises `Denied` otherwise
    and `ServiceError` when a service cannot answer."""
    cluster = await fetch_cluster(nc, cluster_id, user_id)
    if cluster.status in GONE:
        raise Denied(ErrorCode.NOT_FOUND, "cluster deleted")
    if cluster.owner_id != user_id:
        role = await team_role(nc, cluster.team_id, user_id) if cluster.team_id else None
        if role is None:
            raise Denied(ErrorCode.NOT_FOUND, "cluster not found")
        if not role.at_least(Role.MEMBER):
            raise Denied(ErrorCode.FORBIDDEN, "a terminal needs the member role or higher")
    if cluster.status != ClusterStatus.READY:
        raise Denied(ErrorCode.CONFLICT, f"cluster is {cluster.status.value}, not ready")
    return cluster
