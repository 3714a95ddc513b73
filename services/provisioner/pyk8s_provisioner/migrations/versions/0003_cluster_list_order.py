"""cluster list order: indexes for the keyset pages (newest first), overall and per team

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 08:45:00.000000
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_clusters_created_at_id", "clusters", ["created_at", "id"], unique=False)
    op.create_index(
        "ix_clusters_team_id_created_at_id",
        "clusters",
        ["team_id", "created_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_clusters_team_id_created_at_id", table_name="clusters")
    op.drop_index("ix_clusters_created_at_id", table_name="clusters")
