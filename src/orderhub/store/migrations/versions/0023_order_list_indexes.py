"""orders: indexes for the order list at a million orders

``GET /v1/orders`` (and the dashboard's list) is newest first by id, with optional filters.
With only single-column indexes, a filter PostgreSQL could not read in id order walked the
primary key backwards, filtering: fine for a common status, seconds for a rare combination or
a date range weeks back (EXPLAIN ANALYZE on 1M seeded orders: docs/performance.md). So:

- (status, id), (channel_code, id), (channel_code, status, id): each filter's rows in id order,
  a page is a short backward index scan; (status, id) supersedes the status index;
- external_id alone (the unique index leads with the channel, so a search by the channel's
  order id without the channel read a whole index);
- (placed_at, id) instead of placed_at: a date range's ids from the index alone;
- (ship_by, sla_at_risk_at, id) of open orders only: the SLA filters ask for open orders due
  or overdue, a few percent of the table, where the full ship_by index holds every order ever
  placed; with the other columns they ask for, it answers them without reading the table.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_OPEN = sa.text("status IN ('received', 'on_hold', 'backordered', 'allocated', 'in_fulfilment')")


def upgrade() -> None:
    op.create_index("ix_orders_status_id", "orders", ["status", "id"])
    op.drop_index("ix_orders_status", table_name="orders")
    op.create_index("ix_orders_channel_id", "orders", ["channel_code", "id"])
    op.create_index("ix_orders_channel_status_id", "orders", ["channel_code", "status", "id"])
    op.create_index("ix_orders_external_id", "orders", ["external_id"])
    op.create_index("ix_orders_placed_at_id", "orders", ["placed_at", "id"])
    op.drop_index("ix_orders_placed_at", table_name="orders")
    op.create_index(
        "ix_orders_open_ship_by",
        "orders",
        ["ship_by", "sla_at_risk_at", "id"],
        postgresql_where=_OPEN,
        sqlite_where=_OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_orders_open_ship_by", table_name="orders")
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
    op.drop_index("ix_orders_placed_at_id", table_name="orders")
    op.drop_index("ix_orders_external_id", table_name="orders")
    op.drop_index("ix_orders_channel_status_id", table_name="orders")
    op.drop_index("ix_orders_channel_id", table_name="orders")
    op.create_index("ix_orders_status", "orders", ["status"])
    op.drop_index("ix_orders_status_id", table_name="orders")
