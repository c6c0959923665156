"""fulfilment: providers, fulfilment orders, shipments, exceptions; SLA columns on orders

Revision ID: 0009
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0009"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("ship_by", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("deliver_by", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("sla_at_risk_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("sla_breached_at", UTCDateTime(), nullable=True))
    op.create_index("ix_orders_ship_by", "orders", ["ship_by"])
    op.create_table(
        "fulfilment_providers",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("settings", JsonColumn, nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("locations", JsonColumn, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_fulfilment_providers")),
    )
    op.create_table(
        "fulfilment_orders",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("lines", JsonColumn, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_fulfilment_orders_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilment_orders")),
    )
    op.create_index("ix_fulfilment_orders_order_id", "fulfilment_orders", ["order_id"])
    op.create_index(
        "ix_fulfilment_orders_status_location", "fulfilment_orders", ["status", "location"]
    )
    op.create_index(
        "ix_fulfilment_orders_provider_ref", "fulfilment_orders", ["provider", "external_ref"]
    )
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("fulfilment_id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("carrier", sa.String(length=100), nullable=False),
        sa.Column("service", sa.String(length=100), nullable=True),
        sa.Column("tracking_number", sa.String(length=200), nullable=True),
        sa.Column("lines", JsonColumn, nullable=False),
        sa.Column("shipped_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("status_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["fulfilment_id"],
            ["fulfilment_orders.id"],
            name=op.f("fk_shipments_fulfilment_id_fulfilment_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
    )
    op.create_index("ix_shipments_fulfilment_id", "shipments", ["fulfilment_id"])
    op.create_index("ix_shipments_tracking_number", "shipments", ["tracking_number"])
    op.create_table(
        "fulfilment_exceptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("fulfilment_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("suggested_action", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilment_exceptions")),
    )
    op.create_index("ix_fulfilment_exceptions_status", "fulfilment_exceptions", ["status"])
    op.create_index("ix_fulfilment_exceptions_order_id", "fulfilment_exceptions", ["order_id"])


def downgrade() -> None:
    op.drop_table("fulfilment_exceptions")
    op.drop_table("shipments")
    op.drop_table("fulfilment_orders")
    op.drop_table("fulfilment_providers")
    op.drop_index("ix_orders_ship_by", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        for name in ("sla_breached_at", "sla_at_risk_at", "deliver_by", "ship_by"):
            batch.drop_column(name)
