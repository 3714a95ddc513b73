"""clusters: who asked for the deletion

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("clusters", sa.Column("deleted_by", sa.Uuid(), nullable=True))
    op.add_column("clusters", sa.Column("deleted_by_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    op.drop_column("clusters", "deleted_by_email")
    op.drop_column("clusters", "deleted_by")
