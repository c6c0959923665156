"""pickups: wrong codes shown for a pick-up, counted (the code locks after five)

A pick-up code is 8 characters from 31; guessing one at the counter or through the API is
what the count stops: after five wrong codes the pick-up takes none, the right one neither,
until the channel issues a fresh code.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place, both databases (a batch copy of pickups would reflect the tables it refers to).
    op.add_column(
        "pickups", sa.Column("code_failures", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.execute("ALTER TABLE pickups DROP COLUMN code_failures")  # SQLite 3.35+ too
