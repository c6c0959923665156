"""outbound calls outside transactions: EDI control numbers reserved per outbox event

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "edi_control_reservations",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("reserved_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_edi_control_reservations_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint(
            "event_id", "channel_code", "partner", name=op.f("pk_edi_control_reservations")
        ),
    )


def downgrade() -> None:
    op.drop_table("edi_control_reservations")
