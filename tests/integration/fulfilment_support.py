"""Shared helpers for the fulfilment integration tests: an allocated order and fakes for the
stock ledger and the router (the protocols of orderhub.services.fulfilment)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.locations import Location, LocationAddress, LocationKind
from orderhub.domain.orders import LineStatus, OrderStatus
from orderhub.fulfilment.base import FulfilmentProvider
from orderhub.services import ingest
from orderhub.services.allocation import allocate_order
from orderhub.services.fulfilment import FulfilmentDeps
from orderhub.services.fulfilment_wiring import Lookup
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.store.unit_of_work import UnitOfWork
from tests.conftest import native_order


@dataclass
class FakeStock:
    consumed: list[tuple[str, str, dict[str, int]]] = field(default_factory=list)
    released: list[tuple[str, str, list[str]]] = field(default_factory=list)

    def consume_for_shipment(
        self, uow: UnitOfWork, *, order_id: str, lines: Mapping[str, int], location: str
    ) -> None:
        self.consumed.append((order_id, location, dict(lines)))

    def release(
        self, uow: UnitOfWork, *, order_id: str, location: str, line_ids: Sequence[str], reason: str
    ) -> None:
        self.released.append((order_id, location, list(line_ids)))


@dataclass
class FakeRerouter:
    """Re-allocates the order's open lines to ``to`` (or finds nowhere when ``to`` is None)."""

    to: str | None
    calls: list[tuple[str, str]] = field(default_factory=list)

    def reroute(self, uow: UnitOfWork, *, order_id: str, exclude_location: str) -> bool:
        self.calls.append((order_id, exclude_location))
        if self.to is None:
            return False
        order = uow.orders.get(order_id)
        picks = []
        for line in order.lines:
            if line.status == LineStatus.OPEN:
                order.set_line_status(line.id, LineStatus.ALLOCATED)
                picks.append(
                    {
                        "line_id": line.id,
                        "sku": line.sku,
                        "location": self.to,
                        "quantity": line.quantity,
                    }
                )
        order.transition_to(OrderStatus.ALLOCATED)
        uow.commit()
        self.allocations = picks
        return True


def place_order(container: Container, external_id: str = "1001", **overrides: Any) -> str:
    body = native.NativeOrder.model_validate(native_order(external_id, **overrides))
    with container.uow(actor="test") as uow:
        result = ingest.ingest_order(uow, draft=body.to_draft(), source="native", payload="{}")
    assert result.order_id
    return result.order_id


def allocate(container: Container, order_id: str) -> list[dict[str, Any]]:
    """Reserve every line at ``east`` for real (a location with just enough stock, then
    inventory's allocation through routing) and return the allocations as the event has them."""
    with container.uow(actor="test") as uow:
        if not uow.locations.existing({"east"}):
            uow.locations.add(
                Location("east", "East DC", LocationKind.WAREHOUSE, LocationAddress("US"))
            )
            uow.commit()
        order = uow.orders.get(order_id)
        needed: dict[str, int] = {}
        for line in order.lines:
            needed[line.sku] = needed.get(line.sku, 0) + line.quantity
    with container.uow(actor="test") as uow:
        adjust_stock(
            uow,
            items=[
                StockAdjustment(sku, "east", delta=quantity, reason="receipt")
                for sku, quantity in sorted(needed.items())
            ],
        )
    with container.uow(actor="test") as uow:
        outcome = allocate_order(uow, order_id=order_id)
        assert outcome.status == OrderStatus.ALLOCATED, outcome
        return [
            {"line_id": a.line_id, "sku": a.sku, "location": a.location, "quantity": a.quantity}
            for a in uow.stock.allocations(order_id, open_only=True)
        ]


@contextmanager
def deps(
    uow: UnitOfWork,
    *,
    stock: FakeStock | None = None,
    rerouter: FakeRerouter | None = None,
    providers: dict[str, FulfilmentProvider] | None = None,
    client: httpx.Client | None = None,
) -> Iterator[FulfilmentDeps]:
    with client or httpx.Client() as http:
        table = Lookup(uow, http)

        def lookup(code: str) -> FulfilmentProvider:
            return (providers or {}).get(code) or table(code)

        yield FulfilmentDeps(
            providers=lookup,
            stock=stock or FakeStock(),
            rerouter=rerouter or FakeRerouter(None),
            clock=lambda: datetime.now(UTC),
        )
