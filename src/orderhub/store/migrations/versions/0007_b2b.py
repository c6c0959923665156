"""B2B: purchase order columns on orders, EDI control numbers, cXML payload ids

Revision ID: 0007
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0007"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("po_number", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("requested_ship_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("purchase_order", JsonColumn, nullable=True))
        batch_op.create_index("ix_orders_po_number", ["po_number"], unique=False)
        batch_op.create_index(
            "ix_orders_requested_ship_date", ["requested_ship_date"], unique=False
        )
    op.create_table(
        "edi_control_numbers",
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_edi_control_numbers_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint("channel_code", "partner", name=op.f("pk_edi_control_numbers")),
    )
    op.create_table(
        "cxml_payloads",
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("payload_id", sa.String(length=250), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_code"], ["channels.code"], name=op.f("fk_cxml_payloads_channel_code_channels")
        ),
        sa.PrimaryKeyConstraint("channel_code", "payload_id", name=op.f("pk_cxml_payloads")),
    )


def downgrade() -> None:
    op.drop_table("cxml_payloads")
    op.drop_table("edi_control_numbers")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_requested_ship_date")
        batch_op.drop_index("ix_orders_po_number")
        batch_op.drop_column("purchase_order")
        batch_op.drop_column("requested_ship_date")
        batch_op.drop_column("po_number")
