"""session hosts: the Docker host of each session's container and that host's engine

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions opened before hosts ran on the service's own engine: NULL says so.
    op.add_column("sessions", sa.Column("host_id", sa.String(length=32), nullable=True))
    op.add_column("sessions", sa.Column("docker_host", sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column("sessions", "docker_host")
    op.drop_column("sessions", "host_id")
