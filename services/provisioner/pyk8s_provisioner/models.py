import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pyk8s_contracts.hosts import DEFAULT_HOST_ID
from pyk8s_kit.db import make_metadata
from pyk8s_kit.outbox import OutboxMixin


class Base(DeclarativeBase):
    metadata = make_metadata()


class Cluster(Base):
    __tablename__ = "clusters"
    __table_args__ = (
        # A name is unique among the live clusters of one scope: a team, or one person's
        # personal clusters.
        Index(
            "uq_clusters_team_name",
            "team_id",
            "name",
            unique=True,
            postgresql_where=text("team_id IS NOT NULL AND status <> 'deleted'"),
        ),
        Index(
            "uq_clusters_personal_name",
            "owner_id",
            "name",
            unique=True,
            postgresql_where=text("team_id IS NULL AND status <> 'deleted'"),
        ),
        # The list's keyset order (newest first), overall and within one team.
        Index("ix_clusters_created_at_id", "created_at", "id"),
        Index("ix_clusters_team_id_created_at_id", "team_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(63))
    team_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    provider: Mapped[str] = mapped_column(String(16))
    kubernetes_version: Mapped[str | None] = mapped_column(String(32))
    workers: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_message: Mapped[str | None] = mapped_column(Text)
    api_server: Mapped[str | None] = mapped_column(String(300))
    # The name given to kind/k3d: unique across every scope, at most 32 characters.
    runtime_name: Mapped[str] = mapped_column(String(32), unique=True)
    kubeconfig_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who asked for the deletion (None when it expired), and their e-mail as the gateway
    # read it from the auth service when they asked.
    deleted_by: Mapped[uuid.UUID | None] = mapped_column()
    deleted_by_email: Mapped[str | None] = mapped_column(String(320))
    # The Docker host it was placed on; its work goes to that host's workers only. Placement
    # always names it; the default is the one host of a single-host installation.
    host_id: Mapped[str] = mapped_column(String(32), index=True, default=DEFAULT_HOST_ID)


class Host(Base):
    """What the platform keeps about a Docker host beyond its announcements: whether a
    platform admin drained it. A host without a row is not drained."""

    __tablename__ = "hosts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    drained: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[uuid.UUID | None] = mapped_column()
    changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class AdminKubeconfigRead(Base):
    """One download of a cluster's admin kubeconfig: the audit trail of the break-glass
    credential, kept after the cluster is deleted."""

    __tablename__ = "admin_kubeconfig_reads"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    cluster_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clusters.id"), index=True)
    actor_id: Mapped[uuid.UUID] = mapped_column(index=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OutboxEvent(OutboxMixin, Base):
    pass
