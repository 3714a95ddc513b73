"""Lifecycle events and queued work, both written to the outbox in the transaction that
changes the cluster, so neither is lost nor duplicated by a crash."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from pyk8s_contracts import subjects
from pyk8s_contracts.clusters import (
    ADMIN_KUBECONFIG_READ,
    AdminKubeconfigReadData,
    ClusterEventData,
)
from pyk8s_contracts.events import CloudEvent, event_type
from pyk8s_kit.outbox import add_event

from .models import Cluster, OutboxEvent

SOURCE = "/pyk8s/provisioner"
WORK_ACTIONS = ("create", "delete")


def event_data(cluster: Cluster) -> ClusterEventData:
    return ClusterEventData(
        cluster_id=cluster.id,
        name=cluster.name,
        team_id=cluster.team_id,
        owner=cluster.owner_id,
        provider=cluster.provider,
        status=cluster.status,
        status_message=cluster.status_message,
        expires_at=cluster.expires_at,
        host_id=cluster.host_id,
        deleted_by=cluster.deleted_by,
    )


def emit(session: AsyncSession, cluster: Cluster, verb: str) -> None:
    _add(session, cluster, verb, event_data(cluster))


def emit_admin_kubeconfig_read(
    session: AsyncSession, cluster: Cluster, actor_id: uuid.UUID
) -> None:
    data = AdminKubeconfigReadData(**event_data(cluster).model_dump(), actor_id=actor_id)
    _add(session, cluster, ADMIN_KUBECONFIG_READ, data)


def _add(session: AsyncSession, cluster: Cluster, verb: str, data: ClusterEventData) -> None:
    event = CloudEvent(
        source=SOURCE,
        type=event_type("cluster", verb),
        subject=str(cluster.id),
        data=data.model_dump(mode="json"),
    )
    add_event(session, OutboxEvent, subjects.event_subject("cluster", verb), event)


def enqueue(session: AsyncSession, cluster: Cluster, action: str) -> None:
    """Queue `action` for the workers of the cluster's host."""
    assert action in WORK_ACTIONS
    work = CloudEvent(
        source=SOURCE,
        type=event_type("work.cluster", action),
        subject=str(cluster.id),
        data={"cluster_id": str(cluster.id)},
    )
    add_event(session, OutboxEvent, subjects.work_subject(cluster.host_id, action), work)
