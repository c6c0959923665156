"""channel sync cursors

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0006"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_sync_cursors",
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("last_updated_at", UTCDateTime(), nullable=True),
        sa.Column("last_run_at", UTCDateTime(), nullable=False),
        sa.Column("last_result", JsonColumn, nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_channel_sync_cursors_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint("channel_code", name=op.f("pk_channel_sync_cursors")),
    )


def downgrade() -> None:
    op.drop_table("channel_sync_cursors")
