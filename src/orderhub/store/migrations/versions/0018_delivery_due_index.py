"""deliveries: the claim walks due work by (next_attempt_at, event_seq)

The claim used to walk pending deliveries in event order and skip those not yet due, which
with a backing-off consumer is every one of its deliveries on every claim. The new partial
index lets it read only what is due, oldest first, and stop at the first that is not.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at", "event_seq"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )
    op.drop_index("ix_deliveries_pending_seq", table_name="deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_deliveries_pending_seq",
        "deliveries",
        ["event_seq"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )
    op.drop_index("ix_deliveries_due", table_name="deliveries")
