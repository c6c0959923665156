"""stores: store settings on locations, pick-up delivery on orders, the pick-ups table

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("locations") as batch:
        batch.add_column(sa.Column("store", JsonColumn, nullable=True))
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("delivery", JsonColumn, nullable=True))
    op.create_table(
        "pickups",
        sa.Column(
            "fulfilment_id",
            sa.String(36),
            sa.ForeignKey("fulfilment_orders.id"),
            primary_key=True,
        ),
        sa.Column("order_id", sa.String(36), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("location", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("code_hash", sa.String(200)),
        sa.Column("ready_at", UTCDateTime()),
        sa.Column("expires_at", UTCDateTime()),
        sa.Column("picked_up_at", UTCDateTime()),
        sa.Column("closed_at", UTCDateTime()),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_pickups_location_status", "pickups", ["location", "status"])
    op.create_index("ix_pickups_status_expires_at", "pickups", ["status", "expires_at"])
    op.create_index("ix_pickups_order_id", "pickups", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_pickups_order_id", table_name="pickups")
    op.drop_index("ix_pickups_status_expires_at", table_name="pickups")
    op.drop_index("ix_pickups_location_status", table_name="pickups")
    op.drop_table("pickups")
    # In place (SQLite 3.35+ too): a batch copy of orders would trip its foreign keys.
    op.execute("ALTER TABLE orders DROP COLUMN delivery")
    op.execute("ALTER TABLE locations DROP COLUMN store")
