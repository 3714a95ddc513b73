"""Provisioner contracts shared with the gateway and the terminal service."""

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from .common import Contract


class Provider(StrEnum):
    KIND = "kind"
    K3D = "k3d"


class ClusterStatus(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    READY = "ready"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


class Cluster(Contract):
    id: UUID
    name: str
    team_id: UUID | None
    owner_id: UUID
    provider: Provider
    kubernetes_version: str | None
    workers: int
    status: ClusterStatus
    status_message: str | None
    api_server: str | None
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime


class ClusterNodeRequest(Contract):
    cluster_id: UUID


class ClusterNode(Contract):
    """Where a terminal attaches: the Docker container of the cluster's first server node."""

    cluster_id: UUID
    status: ClusterStatus
    container: str
