"""clusters and outbox

Revision ID: 0001
Revises:
Create Date: 2026-11-26 10:49:51.607248
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clusters",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("kubernetes_version", sa.String(length=32), nullable=True),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=True),
        sa.Column("api_server", sa.String(length=300), nullable=True),
        sa.Column("runtime_name", sa.String(length=32), nullable=False),
        sa.Column("kubeconfig_encrypted", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clusters")),
        sa.UniqueConstraint("runtime_name", name=op.f("uq_clusters_runtime_name")),
    )
    op.create_index(op.f("ix_clusters_expires_at"), "clusters", ["expires_at"], unique=False)
    op.create_index(op.f("ix_clusters_owner_id"), "clusters", ["owner_id"], unique=False)
    op.create_index(op.f("ix_clusters_status"), "clusters", ["status"], unique=False)
    op.create_index(op.f("ix_clusters_team_id"), "clusters", ["team_id"], unique=False)
    op.create_index(
        "uq_clusters_personal_name",
        "clusters",
        ["owner_id", "name"],
        unique=True,
        postgresql_where=sa.text("team_id IS NULL AND status <> 'deleted'"),
    )
    op.create_index(
        "uq_clusters_team_name",
        "clusters",
        ["team_id", "name"],
        unique=True,
        postgresql_where=sa.text("team_id IS NOT NULL AND status <> 'deleted'"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    # ### end Alembic commands ###


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_index(
        "uq_clusters_team_name",
        table_name="clusters",
        postgresql_where=sa.text("team_id IS NOT NULL AND status <> 'deleted'"),
    )
    op.drop_index(
        "uq_clusters_personal_name",
        table_name="clusters",
        postgresql_where=sa.text("team_id IS NULL AND status <> 'deleted'"),
    )
    op.drop_index(op.f("ix_clusters_team_id"), table_name="clusters")
    op.drop_index(op.f("ix_clusters_status"), table_name="clusters")
    op.drop_index(op.f("ix_clusters_owner_id"), table_name="clusters")
    op.drop_index(op.f("ix_clusters_expires_at"), table_name="clusters")
    op.drop_table("clusters")
    # ### end Alembic commands ###
