"""login throttling per (login, client) pair

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 09:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_pairs",
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("client", sa.Text(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("login", "client", name=op.f("pk_login_pairs")),
    )
    op.create_index(op.f("ix_login_pairs_changed_at"), "login_pairs", ["changed_at"])
    op.create_index(op.f("ix_login_pairs_client"), "login_pairs", ["client"])
    # Failures counted the old way are only minutes old; dropping them forgets little.
    op.drop_index(op.f("ix_login_failures_key"), table_name="login_failures")
    op.drop_index(op.f("ix_login_failures_at"), table_name="login_failures")
    op.drop_table("login_failures")


def downgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index(op.f("ix_login_failures_at"), "login_failures", ["at"])
    op.create_index(op.f("ix_login_failures_key"), "login_failures", ["key"])
    op.drop_index(op.f("ix_login_pairs_client"), table_name="login_pairs")
    op.drop_index(op.f("ix_login_pairs_changed_at"), table_name="login_pairs")
    op.drop_table("login_pairs")
