"""Helpers for the after-sale tests: orders reserved through inventory, dispatched to the own
warehouse, shipped and (optionally) delivered, all through the real services."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.domain.fulfilment import TrackingStatus
from orderhub.fulfilment.base import TrackingUpdate
from orderhub.services import fulfilment
from orderhub.services.allocation import allocate_order
from orderhub.services.fulfilment_wiring import default_dependencies
from orderhub.store import tables as t
from tests.integration.fulfilment_support import place_order
from tests.integration.inventory_helpers import add_locations, receive


def stock_up(container: Container, units: int = 50) -> None:
    add_locations(container, ("east", 1))
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        receive(container, sku, "east", units)


def allocated_order(container: Container, external_id: str = "1001", **overrides: Any) -> str:
    order_id = place_order(container, external_id, **overrides)
    with container.uow(actor="test") as uow:
        allocate_order(uow, order_id=order_id)
    return order_id


def dispatch(container: Container, order_id: str) -> list[str]:
    """Fulfilment orders for the open reservations, handed to the warehouse."""
    with container.uow(actor="test") as uow, default_dependencies(uow) as deps:
        picks = [
            {"line_id": a.line_id, "sku": a.sku, "location": a.location, "quantity": a.quantity}
            for a in uow.stock.allocations(order_id, open_only=True)
        ]
        created = fulfilment.create_fulfilments(
            uow, order_id=order_id, allocations=picks, deps=deps
        )
        fulfilment.dispatch_pending(uow, order_id=order_id, deps=deps)
    return created


def ship(
    container: Container, order_id: str, *, delivered_at: datetime | None = None, tag: str = "1Z"
) -> None:
    """Ship every unshipped unit of every open fulfilment; deliver it at ``delivered_at``."""
    with container.uow(actor="test") as uow, default_dependencies(uow) as deps:
        fulfilments = [f for f in uow.fulfilment.for_order(order_id) if f.is_open]
        uow.rollback()
        for number, f in enumerate(fulfilments):
            lines = {k: v for k, v in f.remaining_units().items() if v}
            if not lines:
                continue
            tracking = f"{tag}-{order_id}-{number}"
            fulfilment.ship_from_warehouse(
                uow, fulfilment_id=f.id, lines=lines, carrier="ups", tracking_number=tracking,
                service=None, shipped_at=datetime.now(UTC), deps=deps,
            )  # fmt: skip
            if delivered_at is not None:
                update = TrackingUpdate(tracking, TrackingStatus.DELIVERED, delivered_at)
                fulfilment.apply_updates(
                    uow, provider_code="warehouse", updates=[update], deps=deps
                )


def shipped_order(
    container: Container,
    external_id: str = "1001",
    *,
    delivered_at: datetime | None = None,
    **overrides: Any,
) -> str:
    order_id = allocated_order(container, external_id, **overrides)
    dispatch(container, order_id)
    ship(container, order_id, delivered_at=delivered_at)
    return order_id


def set_policy(container: Container, channel: str, **policy: Any) -> None:
    with container.uow(actor="test") as uow:
        current = uow.channels.get(channel)
        settings = {**current.settings, "returns": policy}
        uow.channels.save(replace(current, settings=settings))
        uow.commit()


def on_hand(container: Container, sku: str, location: str = "east") -> int:
    with container.uow(read_only=True) as uow:
        return next(lvl.on_hand for lvl in uow.stock.levels([sku]) if lvl.location == location)


def snapshot(container: Container) -> dict[str, Any]:
    """Every table's row count and every stock level: equal before and after a refused
    request proves it wrote nothing."""
    with container.uow(read_only=True) as uow:
        counts: dict[str, Any] = {
            table.name: uow.conn.execute(select(func.count()).select_from(table)).scalar()
            for table in t.metadata.sorted_tables
        }
        counts["levels"] = sorted(
            (lvl.sku, lvl.location, lvl.on_hand, lvl.reserved) for lvl in uow.stock.all_levels()
        )
    return counts
