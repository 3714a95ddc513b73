"""Who may open a shell on a cluster: whoever may `use` it, as the provisioner (the one home of
the cluster rules) answers, asked at opening and again while the session lives. A creator
demoted to viewer is refused like any viewer."""

import uuid

from nats.aio.client import Client as NATS

from pyk8s_contracts import subjects
from pyk8s_contracts.clusters import Cluster, ClusterAccessRequest, ClusterStatus
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ServiceError, request


class Denied(Exception):
    def __init__(self, code: ErrorCode, reason: str, gone: bool = False) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        # The cluster is deleted or being deleted: a live session on it ends.
        self.gone = gone

    def service_error(self) -> ServiceError:
        return ServiceError(self.code, self.reason)


async def usable_cluster(nc: NATS, cluster_id: uuid.UUID, user_id: uuid.UUID) -> Cluster:
    try:
        return await request(
            nc,
            subjects.PROVISIONER_CLUSTER_ACCESS,
            ClusterAccessRequest(cluster_id=cluster_id, user_id=user_id, action="use"),
            Cluster,
        )
    except ServiceError as error:
        if error.code == ErrorCode.FORBIDDEN:
            raise Denied(
                ErrorCode.FORBIDDEN, "a terminal needs the member role or higher"
            ) from None
        if error.code == ErrorCode.NOT_FOUND:
            raise Denied(ErrorCode.NOT_FOUND, "cluster not found") from None
        raise


async def check_access(nc: NATS, cluster_id: uuid.UUID, user_id: uuid.UUID) -> Cluster:
    """Returns the cluster when `user_id` may open a shell on it; raises `Denied` otherwise
    and `ServiceError` when a service cannot answer."""
    cluster = await usable_cluster(nc, cluster_id, user_id)
    if cluster.status == ClusterStatus.DELETED:
        raise Denied(ErrorCode.NOT_FOUND, "cluster deleted", gone=True)
    if cluster.status == ClusterStatus.DELETING:
        raise Denied(ErrorCode.CONFLICT, "cluster is being deleted", gone=True)
    if cluster.status != ClusterStatus.READY:
        raise Denied(ErrorCode.CONFLICT, f"cluster is {cluster.status.value}, not ready")
    return cluster
