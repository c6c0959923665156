"""Cancelling after dispatch asks the fulfilment provider first (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from orderhub.bootstrap import Container
from orderhub.domain.cancellation import CancellationRefused
from orderhub.domain.errors import ValidationFailed
from orderhub.domain.fulfilment import FulfilmentOrder, FulfilmentStatus
from orderhub.domain.orders import LineStatus, OrderStatus
from orderhub.fulfilment.base import PermanentProviderError
from orderhub.fulfilment.warehouse import WarehouseProvider
from orderhub.services.fulfilment_wiring import InventoryStock
from orderhub.services.orders import cancel_order
from tests.integration.after_sale_support import allocated_order, dispatch, ship, stock_up
from tests.integration.fulfilment_support import FakeRerouter, deps


class Refusing(WarehouseProvider):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def cancel(self, fulfilment: FulfilmentOrder) -> None:
        self.asked.append(fulfilment.id)
        raise PermanentProviderError("already picked and packed")


class Agreeing(WarehouseProvider):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def cancel(self, fulfilment: FulfilmentOrder) -> None:
        self.asked.append(fulfilment.id)


@pytest.fixture
def stocked(seeded: Container) -> Container:
    stock_up(seeded, units=5)
    return seeded


def reserved(container: Container, sku: str) -> int:
    with container.uow(read_only=True) as uow:
        return sum(level.reserved for level in uow.stock.levels([sku]))


def test_a_provider_refusal_leaves_everything_as_it_was_and_names_why(
    stocked: Container,
) -> None:
    order_id = allocated_order(stocked)
    (fid,) = dispatch(stocked, order_id)
    provider = Refusing()
    with (
        stocked.uow() as uow,
        deps(uow, providers={"warehouse": provider}) as d,
        pytest.raises(CancellationRefused, match="already picked and packed"),
    ):
        cancel_order(uow, order_id=order_id, reason="customer_request", deps=d)
    with stocked.uow(read_only=True) as uow:
        order = uow.orders.get(order_id)
        status = uow.fulfilment.get(fid).status
    assert provider.asked == [fid]
    assert order.status == OrderStatus.IN_FULFILMENT
    assert status != FulfilmentStatus.CANCELLED
    assert reserved(stocked, "SKU-1") == 2


def test_a_provider_that_agrees_cancels_the_units_and_the_rest_is_allocated_again(
    stocked: Container,
) -> None:
    order_id = allocated_order(stocked)
    (fid,) = dispatch(stocked, order_id)
    with stocked.uow(read_only=True) as uow:
        first = uow.orders.get(order_id).lines[0]  # SKU-1 × 2
    provider = Agreeing()
    with (
        stocked.uow() as uow,
        deps(
            uow,
            providers={"warehouse": provider},
            stock=InventoryStock(),
            rerouter=FakeRerouter(None),
        ) as d,
    ):
        cancel_order(uow, order_id=order_id, reason="customer_request", units={first.id: 1}, deps=d)
    with stocked.uow(read_only=True) as uow:
        order = uow.orders.get(order_id)
        fulfilments = {f.id: f for f in uow.fulfilment.for_order(order_id)}
    assert provider.asked == [fid]
    assert fulfilments[fid].status == FulfilmentStatus.CANCELLED
    assert order.line(first.id).cancelled_quantity == 1
    assert order.status == OrderStatus.ALLOCATED  # what is left is reserved again
    assert reserved(stocked, "SKU-1") == 1
    assert reserved(stocked, "SKU-2") == 1


def test_shipped_lines_are_refused_with_409_naming_them(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = allocated_order(stocked)
    dispatch(stocked, order_id)
    ship(stocked, order_id)
    order = client.get(f"/v1/orders/{order_id}", headers=admin).json()
    first = order["lines"][0]["id"]
    refused = client.post(
        f"/v1/orders/{order_id}/cancel",
        json={"reason": "customer_request", "lines": [{"line_id": first, "quantity": 1}]},
        headers=admin,
    )
    assert refused.status_code == 409
    assert first in refused.json()["detail"]
    assert "shipped" in refused.json()["detail"]
    with stocked.uow(read_only=True) as uow:
        assert uow.orders.get(order_id).line(first).status == LineStatus.SHIPPED


def test_an_unknown_reason_code_is_refused_at_the_api(
    stocked: Container, client: TestClient, admin: dict[str, str]
) -> None:
    order_id = allocated_order(stocked)
    refused = client.post(f"/v1/orders/{order_id}/cancel", json={"reason": "meh"}, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "reason"


def test_too_many_units_are_refused_before_the_provider_is_asked(stocked: Container) -> None:
    order_id = allocated_order(stocked)
    dispatch(stocked, order_id)
    with stocked.uow(read_only=True) as uow:
        first = uow.orders.get(order_id).lines[0]
    provider = Agreeing()
    with (
        stocked.uow() as uow,
        deps(uow, providers={"warehouse": provider}) as d,
        pytest.raises(ValidationFailed),
    ):
        cancel_order(uow, order_id=order_id, reason="other", units={first.id: 3}, deps=d)
    assert provider.asked == []
    with stocked.uow(read_only=True) as uow:
        assert uow.orders.get(order_id).status == OrderStatus.IN_FULFILMENT
