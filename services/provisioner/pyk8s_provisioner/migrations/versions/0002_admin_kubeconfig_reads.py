"""admin kubeconfig reads: the audit trail of the break-glass credential

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 06:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_kubeconfig_reads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("cluster_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column(
            "read_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["cluster_id"],
            ["clusters.id"],
            name=op.f("fk_admin_kubeconfig_reads_cluster_id_clusters"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_kubeconfig_reads")),
    )
    op.create_index(
        op.f("ix_admin_kubeconfig_reads_actor_id"),
        "admin_kubeconfig_reads",
        ["actor_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_admin_kubeconfig_reads_cluster_id"),
        "admin_kubeconfig_reads",
        ["cluster_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_admin_kubeconfig_reads_cluster_id"), table_name="admin_kubeconfig_reads")
    op.drop_index(op.f("ix_admin_kubeconfig_reads_actor_id"), table_name="admin_kubeconfig_reads")
    op.drop_table("admin_kubeconfig_reads")
