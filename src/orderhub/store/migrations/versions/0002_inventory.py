"""inventory

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Locations, stock levels and their append-only ledger, allocations and their plans,
per-channel safety stock overrides and the last announced available-to-sell.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0002"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_availability",
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("available", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("channel_code", "sku", name=op.f("pk_channel_availability")),
    )
    op.create_table(
        "locations",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("address", JsonColumn, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("channels", JsonColumn, nullable=True),
        sa.Column("serves_countries", JsonColumn, nullable=True),
        sa.Column("daily_capacity", sa.Integer(), nullable=True),
        sa.Column("cutoff", sa.String(length=5), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("settings", JsonColumn, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_locations")),
    )
    op.create_table(
        "stock_movements",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("on_hand_delta", sa.Integer(), nullable=False),
        sa.Column("reserved_delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("order_line_id", sa.String(length=36), nullable=True),
        sa.Column("counted", sa.Integer(), nullable=True),
        sa.Column("as_of", UTCDateTime(), nullable=True),
        sa.Column("stale", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_stock_movements")),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index("ix_stock_movements_sku_location", ["sku", "location"], unique=False)

    op.create_table(
        "channel_safety_stock",
        sa.Column("channel_code", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("safety_stock", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_code"],
            ["channels.code"],
            name=op.f("fk_channel_safety_stock_channel_code_channels"),
        ),
        sa.PrimaryKeyConstraint("channel_code", "sku", name=op.f("pk_channel_safety_stock")),
    )
    op.create_table(
        "stock_levels",
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("last_count_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_stock_levels_on_hand_not_negative")),
        sa.CheckConstraint("reserved >= 0", name=op.f("ck_stock_levels_reserved_not_negative")),
        sa.ForeignKeyConstraint(
            ["location"], ["locations.code"], name=op.f("fk_stock_levels_location_locations")
        ),
        sa.PrimaryKeyConstraint("sku", "location", name=op.f("pk_stock_levels")),
    )
    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.create_index("ix_stock_levels_location", ["location"], unique=False)

    op.create_table(
        "allocation_plans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("explanation", JsonColumn, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_allocation_plans_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_plans")),
    )
    with op.batch_alter_table("allocation_plans", schema=None) as batch_op:
        batch_op.create_index("ix_allocation_plans_order_id", ["order_id"], unique=False)

    op.create_table(
        "allocations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("order_id", sa.String(length=36), nullable=False),
        sa.Column("line_id", sa.String(length=36), nullable=False),
        sa.Column("plan_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=128), nullable=False),
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("open_quantity", sa.Integer(), nullable=False),
        sa.Column("shipped_quantity", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "open_quantity >= 0", name=op.f("ck_allocations_open_quantity_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["line_id"], ["order_lines.id"], name=op.f("fk_allocations_line_id_order_lines")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_allocations_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocations")),
    )
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.create_index("ix_allocations_order_id", ["order_id"], unique=False)
        batch_op.create_index("ix_allocations_sku_location", ["sku", "location"], unique=False)
    op.create_table(
        "location_daily_orders",
        sa.Column("location", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("location", "day", name=op.f("pk_location_daily_orders")),
    )
    _refuse_changes_to_ledger()


# The stock ledger is append-only by the database's own rule, like the order history.
_LEDGER = "stock_movements"


def _refuse_changes_to_ledger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION orderhub_refuse_ledger_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'stock_movements is append-only: % refused', TG_OP
                    USING ERRCODE = 'insufficient_privilege';
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {_LEDGER}_append_only BEFORE UPDATE OR DELETE ON "
            f"{_LEDGER} FOR EACH ROW EXECUTE FUNCTION orderhub_refuse_ledger_change()"
        )
        op.execute(
            f"CREATE TRIGGER {_LEDGER}_no_truncate BEFORE TRUNCATE ON "
            f"{_LEDGER} FOR EACH STATEMENT EXECUTE FUNCTION orderhub_refuse_ledger_change()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {_LEDGER}_no_{operation.lower()} BEFORE {operation} ON "
                f"{_LEDGER} BEGIN SELECT RAISE(ABORT, "
                f"'stock_movements is append-only: {operation} refused'); END"
            )


def _allow_changes_to_ledger() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {_LEDGER}_append_only ON {_LEDGER}")
        op.execute(f"DROP TRIGGER IF EXISTS {_LEDGER}_no_truncate ON {_LEDGER}")
        op.execute("DROP FUNCTION IF EXISTS orderhub_refuse_ledger_change()")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {_LEDGER}_no_update")
        op.execute(f"DROP TRIGGER IF EXISTS {_LEDGER}_no_delete")


def downgrade() -> None:
    _allow_changes_to_ledger()
    op.drop_table("location_daily_orders")
    with op.batch_alter_table("allocations", schema=None) as batch_op:
        batch_op.drop_index("ix_allocations_sku_location")
        batch_op.drop_index("ix_allocations_order_id")

    op.drop_table("allocations")
    with op.batch_alter_table("allocation_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_allocation_plans_order_id")

    op.drop_table("allocation_plans")
    with op.batch_alter_table("stock_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_levels_location")

    op.drop_table("stock_levels")
    op.drop_table("channel_safety_stock")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_movements_sku_location")

    op.drop_table("stock_movements")
    op.drop_table("locations")
    op.drop_table("channel_availability")
