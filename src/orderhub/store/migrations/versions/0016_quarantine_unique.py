"""quarantine: one entry per (channel, external id), enforced by a unique index

Concurrent first posts of one order with an unknown SKU could each add an entry; every later
post then failed on the twins. Existing twins are merged first: the entry that was replayed
(it has the order) is kept, else the oldest; it counts every twin's attempts.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_quarantine = sa.table(
    "quarantine",
    sa.column("id", sa.String),
    sa.column("channel_code", sa.String),
    sa.column("external_id", sa.String),
    sa.column("status", sa.String),
    sa.column("attempts", sa.Integer),
    sa.column("created_at", sa.DateTime),
)


def _keeper(twins: Sequence[Any]) -> Any:
    """The replayed twin (its order exists), else the oldest: the id a caller saw first."""
    replayed = [r for r in twins if r.status == "replayed"]
    return replayed[0] if replayed else twins[0]


def _merge_twins(conn: sa.Connection) -> None:
    q = _quarantine.c
    twins = (
        sa.select(q.channel_code, q.external_id)
        .where(q.external_id.is_not(None))
        .group_by(q.channel_code, q.external_id)
        .having(sa.func.count() > 1)
    )
    for channel, external_id in conn.execute(twins).all():
        rows = conn.execute(
            sa.select(q.id, q.status, q.attempts)
            .where(q.channel_code == channel, q.external_id == external_id)
            .order_by(q.created_at, q.id)
        ).all()
        keep = _keeper(rows)
        conn.execute(
            sa.update(_quarantine)
            .where(q.id == keep.id)
            .values(attempts=sum(r.attempts for r in rows))
        )
        conn.execute(
            sa.delete(_quarantine).where(q.id.in_([r.id for r in rows if r.id != keep.id]))
        )


def upgrade() -> None:
    _merge_twins(op.get_bind())
    op.drop_index("ix_quarantine_channel_external", table_name="quarantine")
    op.create_index(
        "uq_quarantine_channel_external",
        "quarantine",
        ["channel_code", "external_id"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_quarantine_channel_external", table_name="quarantine")
    op.create_index("ix_quarantine_channel_external", "quarantine", ["channel_code", "external_id"])
