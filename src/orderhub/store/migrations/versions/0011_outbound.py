"""outbound: scheduled job leases, per-channel inventory item ids

Revision ID: 0011
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0011"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_jobs",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("last_started_at", UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduled_jobs")),
    )
    op.create_table(
        "channel_inventory_items",
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("item", JsonColumn, nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_channel_inventory_items_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint("channel_code", "sku", name=op.f("pk_channel_inventory_items")),
    )


def downgrade() -> None:
    op.drop_table("channel_inventory_items")
    op.drop_table("scheduled_jobs")
