"""availability by SKU: index channel_availability on sku

Available-to-sell is recomputed at commit for the SKUs a transaction touched; it locks every
channel's last announced figure of those SKUs by SKU, which without this index scans the table.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_channel_availability_sku", "channel_availability", ["sku"])


def downgrade() -> None:
    op.drop_index("ix_channel_availability_sku", table_name="channel_availability")
