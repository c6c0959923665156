"""routing rule versions

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orderhub.store.types import JsonColumn, UTCDateTime

revision = "0004"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "routing_rule_versions",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("rules", JsonColumn, nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("activated_at", UTCDateTime(), nullable=True),
        sa.Column("activated_by", sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_routing_rule_versions")),
    )
    op.create_index(
        "uq_routing_rule_versions_one_active",
        "routing_rule_versions",
        ["active"],
        unique=True,
        sqlite_where=sa.text("active = 1"),
        postgresql_where=sa.text("active"),
    )


def downgrade() -> None:
    op.drop_index("uq_routing_rule_versions_one_active", table_name="routing_rule_versions")
    op.drop_table("routing_rule_versions")
