"""delivery: per-consumer deliveries, processed events, webhook subscriptions

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0003"
down_revision = "0009"
branch_labels = None
depends_on = None

_DELIVERY_INDEXES = [
    ("ix_deliveries_pending_seq", ["event_seq"], "status = 'pending'"),
    ("ix_deliveries_leased", ["lease_expires_at"], "status = 'in_flight'"),
    (
        "ix_deliveries_open_stream",
        ["consumer", "stream", "event_seq"],
        "status IN ('pending', 'in_flight')",
    ),
    ("ix_deliveries_dead", ["id"], "status = 'dead'"),
]


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("fanned_out", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.create_index("ix_outbox_fanned_out_seq", ["fanned_out", "seq"], unique=False)

    op.create_table(
        "deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("event_id", "consumer", name="uq_deliveries_event_consumer"),
    )
    for name, columns, condition in _DELIVERY_INDEXES:
        op.create_index(
            name,
            "deliveries",
            columns,
            postgresql_where=sa.text(condition),
            sqlite_where=sa.text(condition),
        )

    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("processed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", JsonColumn, nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_subscriptions")),
    )


def downgrade() -> None:
    op.drop_table("webhook_subscriptions")
    op.drop_table("processed_events")
    for name, _columns, _condition in _DELIVERY_INDEXES:
        op.drop_index(name, table_name="deliveries")
    op.drop_table("deliveries")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_fanned_out_seq")
        batch_op.drop_column("fanned_out")
