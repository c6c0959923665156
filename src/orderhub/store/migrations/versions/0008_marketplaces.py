"""marketplace polling state

Revision ID: 0008
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marketplace_sync_state",
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("window_end", UTCDateTime(), nullable=True),
        sa.Column("next_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_run_at", UTCDateTime(), nullable=True),
        sa.Column("last_result", JsonColumn, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_marketplace_sync_state_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint("channel_code", name=op.f("pk_marketplace_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("marketplace_sync_state")
