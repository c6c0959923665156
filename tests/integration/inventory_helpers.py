"""Helpers shared by the inventory tests: locations, stock and orders through the services."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.services.ingest import ingest_order
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.store import tables as t
from tests.conftest import native_order

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def add_locations(
    container: Container, *specs: tuple[str, int], capacities: Mapping[str, int] | None = None
) -> None:
    """Warehouses (code, priority); ``capacities``: the daily capacity of some of them."""
    with container.uow(actor="test") as uow:
        for code, priority in specs:
            uow.locations.add(
                Location(
                    code,
                    code.upper(),
                    LocationKind.WAREHOUSE,
                    LocationAddress("US"),
                    priority=priority,
                    daily_capacity=(capacities or {}).get(code),
                )
            )
        uow.commit()


def receive(container: Container, sku: str, location: str, quantity: int) -> None:
    with container.uow(actor="test") as uow:
        adjust_stock(
            uow,
            items=[StockAdjustment(sku, location, delta=quantity, reason="receipt")],
        )


def place(
    container: Container,
    number: int,
    lines: list[tuple[str, int]],
    *,
    channel: str = "web",
    minutes: int | None = None,
) -> str:
    """An order placed ``minutes`` (default: ``number``) after T0; returns its id."""
    body = native_order(
        f"X-{number}",
        channel=channel,
        placed_at=(T0 + timedelta(minutes=number if minutes is None else minutes)).isoformat(),
        lines=[{"sku": s, "quantity": q, "unit_price": "1.00"} for s, q in lines],
    )
    order = native.NativeOrder.model_validate(body)
    with container.uow(actor="test") as uow:
        result = ingest_order(
            uow, draft=order.to_draft(), source=native.SOURCE, payload=order.model_dump_json()
        )
    assert result.order_id
    return result.order_id


def levels(container: Container) -> dict[tuple[str, str], tuple[int, int]]:
    with container.uow(read_only=True) as uow:
        return {(lv.sku, lv.location): (lv.on_hand, lv.reserved) for lv in uow.stock.all_levels()}


def status(container: Container, order_id: str) -> str:
    with container.uow(read_only=True) as uow:
        return uow.orders.get(order_id).status.value


def outbox_events(container: Container, type_: str) -> list[dict[str, Any]]:
    with container.uow(read_only=True) as uow:
        rows = uow.conn.execute(
            select(t.outbox.c.stream, t.outbox.c.data)
            .where(t.outbox.c.type == type_)
            .order_by(t.outbox.c.seq)
        )
        return [{"stream": r.stream, **r.data} for r in rows]
