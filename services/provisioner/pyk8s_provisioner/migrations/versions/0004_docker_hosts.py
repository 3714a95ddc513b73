"""docker hosts: each cluster's host, and which hosts are drained

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Clusters made before hosts had ids ran on the one host, whose default id is "local".
    op.add_column(
        "clusters",
        sa.Column("host_id", sa.String(length=32), nullable=False, server_default="local"),
    )
    op.alter_column("clusters", "host_id", server_default=None)
    op.create_index(op.f("ix_clusters_host_id"), "clusters", ["host_id"], unique=False)
    op.create_table(
        "hosts",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("drained", sa.Boolean(), nullable=False),
        sa.Column("changed_by", sa.Uuid(), nullable=True),
        sa.Column(
            "changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hosts")),
    )


def downgrade() -> None:
    op.drop_table("hosts")
    op.drop_index(op.f("ix_clusters_host_id"), table_name="clusters")
    op.drop_column("clusters", "host_id")
