"""dashboard: orders.order_number, case-insensitive prefix indexes, sync errors (the (placed_at, id)
index is 0023's)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

# index name → (table, column): each indexed as lower(column), COLLATE "C" on PostgreSQL.
SEARCH_INDEXES = {
    "ix_orders_lower_order_number": ("orders", "order_number"),
    "ix_orders_lower_external_id": ("orders", "external_id"),
    "ix_orders_lower_customer_name": ("orders", "customer_name"),
    "ix_orders_lower_customer_email": ("orders", "customer_email"),
    "ix_orders_lower_po_number": ("orders", "po_number"),
    "ix_order_lines_lower_sku": ("order_lines", "sku"),
    "ix_shipments_lower_tracking_number": ("shipments", "tracking_number"),
}

# The same rule as domain/order_numbers.order_number, in SQL, for the orders already stored.
_BACKFILL = {
    "postgresql": """
        UPDATE orders SET order_number = LEFT(COALESCE(
            CASE WHEN metadata->>'name' LIKE '#%' THEN trim(metadata->>'name') END,
            NULLIF(trim(metadata->>'number'), ''),
            NULLIF(trim(metadata->>'increment_id'), ''),
            external_id), 200)
    """,
    "sqlite": """
        UPDATE orders SET order_number = substr(COALESCE(
            CASE WHEN json_extract(metadata, '$.name') LIKE '#%'
                 THEN trim(json_extract(metadata, '$.name')) END,
            NULLIF(trim(CAST(json_extract(metadata, '$.number') AS TEXT)), ''),
            NULLIF(trim(CAST(json_extract(metadata, '$.increment_id') AS TEXT)), ''),
            external_id), 1, 200)
    """,
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column("orders", sa.Column("order_number", sa.String(200)))  # in place, both databases
    op.execute(_BACKFILL[dialect])
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"])
    op.create_table(
        "channel_sync_errors",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("channel_code", sa.String(64), sa.ForeignKey("channels.code"), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_channel_sync_errors_channel_code",
        "channel_sync_errors",
        ["channel_code", "occurred_at"],
    )
    for name, (table, column) in SEARCH_INDEXES.items():
        collate = ' COLLATE "C"' if dialect == "postgresql" else ""
        op.execute(f"CREATE INDEX {name} ON {table} ((lower({column})){collate})")


def downgrade() -> None:
    op.drop_table("channel_sync_errors")
    for name, (table, _column) in SEARCH_INDEXES.items():
        op.drop_index(name, table_name=table)
    op.drop_index("ix_shipments_order_id", table_name="shipments")
    # In place (SQLite 3.35+ too): a batch copy of orders would trip its foreign keys.
    op.execute("ALTER TABLE orders DROP COLUMN order_number")
