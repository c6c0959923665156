"""order_lines: the backordered lines by SKU (the queue of orders waiting for a SKU)

First come, first served reads the orders waiting for a SKU, with what they wait for, when a
new order could take units they want, and when stock comes free. By the SKU index that walked
every line ever sold of a popular SKU; this partial index holds only the waiting ones.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_BACKORDERED = sa.text("status = 'backordered'")


def upgrade() -> None:
    op.create_index(
        "ix_order_lines_backordered_sku",
        "order_lines",
        ["sku", "order_id"],
        postgresql_where=_BACKORDERED,
        sqlite_where=_BACKORDERED,
    )


def downgrade() -> None:
    op.drop_index("ix_order_lines_backordered_sku", table_name="order_lines")
