"""Pick-ups: load and save :class:`~orderhub.domain.pickups.Pickup`, and the store view's reads."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, or_, select, update

from orderhub.domain.errors import Conflict, NotFound
from orderhub.domain.pickups import OPEN, Pickup, PickupStatus
from orderhub.store import tables as t
from orderhub.store.queries import keyset_page


class StalePickup(Conflict):
    """Two hands moved one pick-up at once; the later is refused (409), nothing is written."""


P = t.pickups.c
_ONE = select(t.pickups).where(P.fulfilment_id == bindparam("fid"))
_OF_ORDER = select(t.pickups).where(P.order_id == bindparam("order_id")).order_by(P.created_at)
_DUE = (
    select(P.fulfilment_id)
    .where(P.status == PickupStatus.READY.value, P.expires_at <= bindparam("now"))
    .order_by(P.expires_at, P.fulfilment_id)
)
_SAVE = (
    update(t.pickups)
    .where(P.fulfilment_id == bindparam("b_fid"), P.version == bindparam("b_version"))
    .values(
        status=bindparam("status"),
        code_hash=bindparam("code_hash"),
        code_failures=bindparam("code_failures"),
        ready_at=bindparam("ready_at"),
        expires_at=bindparam("expires_at"),
        picked_up_at=bindparam("picked_up_at"),
        closed_at=bindparam("closed_at"),
        version=bindparam("version"),
        updated_at=bindparam("updated_at"),
    )
)


class PickupRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, pickup: Pickup, *, now: datetime) -> None:
        self._conn.execute(
            t.pickups.insert(),
            {
                "fulfilment_id": pickup.fulfilment_id,
                "order_id": pickup.order_id,
                "location": pickup.location,
                "status": pickup.status.value,
                "code_hash": pickup.code_hash,
                "code_failures": pickup.code_failures,
                "ready_at": pickup.ready_at,
                "expires_at": pickup.expires_at,
                "picked_up_at": pickup.picked_up_at,
                "closed_at": pickup.closed_at,
                "version": 1,
                "created_at": pickup.created_at,
                "updated_at": now,
            },
        )
        pickup.version = 1

    def get(self, fulfilment_id: str, *, for_update: bool = False) -> Pickup:
        stmt = _ONE.with_for_update() if for_update and self._postgres else _ONE
        row = self._conn.execute(stmt, {"fid": fulfilment_id}).first()
        if row is None:
            raise NotFound(f"pick-up {fulfilment_id} not found")
        return _to_pickup(row)

    def is_pickup(self, fulfilment_id: str) -> bool:
        """Whether this fulfilment order is a pick-up (handed over, never shipped by staff)."""
        return self._conn.execute(_ONE, {"fid": fulfilment_id}).first() is not None

    def for_order(self, order_id: str) -> builtins.list[Pickup]:
        return [_to_pickup(r) for r in self._conn.execute(_OF_ORDER, {"order_id": order_id})]

    def save(self, pickup: Pickup, *, now: datetime) -> None:
        """Write the pick-up; refuses if someone saved it in between (two clerks, one parcel)."""
        params = {
            "b_fid": pickup.fulfilment_id,
            "b_version": pickup.version,
            "status": pickup.status.value,
            "code_hash": pickup.code_hash,
            "code_failures": pickup.code_failures,
            "ready_at": pickup.ready_at,
            "expires_at": pickup.expires_at,
            "picked_up_at": pickup.picked_up_at,
            "closed_at": pickup.closed_at,
            "version": pickup.version + 1,
            "updated_at": now,
        }
        if self._conn.execute(_SAVE, params).rowcount != 1:
            raise StalePickup(f"pick-up {pickup.fulfilment_id} was changed concurrently; retry")
        pickup.version += 1

    def open_of_cancelled_orders(self, *, limit: int = 200) -> builtins.list[Pickup]:
        o = t.orders.c
        stmt = (
            select(t.pickups)
            .join(t.orders, o.id == P.order_id)
            .where(P.status.in_(sorted(s.value for s in OPEN)), o.status == "cancelled")
            .order_by(P.fulfilment_id)
            .limit(limit)
        )
        return [_to_pickup(r) for r in self._conn.execute(stmt)]

    def due_to_expire(self, now: datetime, *, limit: int = 200) -> builtins.list[str]:
        return list(self._conn.execute(_DUE.limit(limit), {"now": now}).scalars())

    def page(
        self,
        *,
        location: str | None,
        status: str | None,
        order_id: str | None = None,
        channel: str | None = None,
        limit: int,
        cursor: str | None,
    ) -> tuple[builtins.list[Pickup], str | None]:
        """Pick-ups by fulfilment id (stable keyset order), optionally of one store or status
        (``open``: picking or ready)."""
        stmt = select(t.pickups)
        if location:
            stmt = stmt.where(P.location == location)
        if status == "open":
            stmt = stmt.where(P.status.in_(sorted(s.value for s in OPEN)))
        elif status:
            stmt = stmt.where(P.status == status)
        if order_id:
            stmt = stmt.where(P.order_id == order_id)
        if channel:  # a channel-scoped key: its own channel's orders only
            o = t.orders.c
            stmt = stmt.where(P.order_id.in_(select(o.id).where(o.channel_code == channel)))
        rows, next_cursor = keyset_page(
            self._conn, stmt, P.fulfilment_id, limit=limit, cursor=cursor
        )
        return [_to_pickup(r) for r in rows], next_cursor

    def store_view(
        self, *, location: str, since: datetime, limit: int = 200
    ) -> builtins.list[dict[str, Any]]:
        """The store's open pick-ups and those closed since ``since`` (today), with each
        order's number and customer: what the counter needs, oldest first."""
        o = t.orders.c
        stmt = (
            select(t.pickups, o.external_id, o.customer_name, o.channel_code)
            .join(t.orders, o.id == P.order_id)
            .where(P.location == location)
            .where(or_(P.status.in_(sorted(s.value for s in OPEN)), P.closed_at >= since))
            .order_by(P.created_at, P.fulfilment_id)
            .limit(limit)
        )
        out = []
        for row in self._conn.execute(stmt):
            out.append(
                {
                    "pickup": _to_pickup(row),
                    "order_number": row.external_id,
                    "customer_name": row.customer_name,
                    "channel": row.channel_code,
                }
            )
        return out

    @property
    def _postgres(self) -> bool:
        return self._conn.dialect.name == "postgresql"


def _to_pickup(row: Row[Any]) -> Pickup:
    return Pickup(
        fulfilment_id=row.fulfilment_id,
        order_id=row.order_id,
        location=row.location,
        created_at=row.created_at,
        status=PickupStatus(row.status),
        code_hash=row.code_hash,
        code_failures=row.code_failures,
        ready_at=row.ready_at,
        expires_at=row.expires_at,
        picked_up_at=row.picked_up_at,
        closed_at=row.closed_at,
        version=row.version,
    )
