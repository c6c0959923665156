"""product identifiers: GTIN, UPC, EAN, ISBN and MPN per product, each barcode unique

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_identifiers",
        sa.Column("sku", sa.String(128), sa.ForeignKey("products.sku"), primary_key=True),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("value", sa.String(70), nullable=False),
        sa.Column("match_key", sa.String(80), nullable=False),
        sa.UniqueConstraint("match_key", name="uq_product_identifiers_match_key"),
    )


def downgrade() -> None:
    op.drop_table("product_identifiers")
