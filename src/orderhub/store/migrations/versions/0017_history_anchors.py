"""history anchors: each order chain's length and head, and checkpoints over all chains

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Every chain as it stands: its last event's order_seq is its length, that event's hash its head.
_BACKFILL = """
INSERT INTO order_chain_heads (order_id, event_count, head_hash)
SELECT e.order_id, e.order_seq, e.hash
FROM order_events e
JOIN (SELECT order_id, MAX(order_seq) AS last_seq FROM order_events GROUP BY order_id) l
  ON e.order_id = l.order_id AND e.order_seq = l.last_seq
"""


def upgrade() -> None:
    op.create_table(
        "order_chain_heads",
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_chain_heads")),
    )
    op.create_table(
        "history_checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("taken_at", UTCDateTime(), nullable=False),
        sa.Column("up_to_seq", sa.BigInteger(), nullable=False),
        sa.Column("chains", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_checkpoints")),
    )
    op.execute(_BACKFILL)


def downgrade() -> None:
    op.drop_table("history_checkpoints")
    op.drop_table("order_chain_heads")
