"""Property: across random sequences of partial cancellations, shipments, returns and refunds
(through the services, on SQLite), the total refunded never exceeds what was paid, refunding
every unit refunds exactly the total, and no stock level goes negative."""

from __future__ import annotations

import contextlib
import itertools
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.errors import OrderHubError
from orderhub.domain.money import Money
from orderhub.domain.returns import Disposition
from orderhub.services import refunds, returns
from orderhub.services.orders import cancel_order
from tests.integration.after_sale_support import allocated_order, dispatch, ship, stock_up

SKUS = ("SKU-1", "SKU-2", "SKU-3")
_numbers = itertools.count()


@pytest.fixture(scope="module")
def hub(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    target = tmp_path_factory.mktemp("properties") / "orderhub.db"
    shutil.copyfile(sqlite_template, target)
    container = bootstrap(Settings(database_url=f"sqlite:///{target}"))
    with container.uow(actor="test") as uow:
        uow.channels.add(Channel(code="web", name="Web", kind=ChannelKind.NATIVE))
        for sku in SKUS:
            uow.catalog.upsert(Product(sku, sku, 250))
        uow.commit()
    stock_up(container, units=100_000)
    yield container
    container.close()


def _cents(value: int) -> str:
    return str(Decimal(value) / 100)


@st.composite
def orders(draw: st.DrawFn) -> dict[str, object]:
    lines = []
    for sku in draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True)):
        quantity = draw(st.integers(1, 4))
        price = draw(st.integers(1, 5000))
        lines.append(
            {
                "sku": sku,
                "quantity": quantity,
                "unit_price": _cents(price),
                "discount": _cents(draw(st.integers(0, price * quantity))),
                "tax": _cents(draw(st.integers(0, 999))),
            }
        )
    return {"lines": lines, "shipping": {"price": _cents(draw(st.integers(0, 999)))}}


operations = st.lists(
    st.one_of(
        st.tuples(st.just("cancel"), st.integers(0, 2), st.integers(1, 4)),
        st.tuples(st.just("refund"), st.integers(0, 2), st.integers(1, 4)),
        st.tuples(st.just("ship"), st.just(0), st.just(0)),
        st.tuples(st.just("return"), st.integers(0, 2), st.integers(1, 4)),
    ),
    max_size=8,
)


def _apply(hub: Container, order_id: str, op: tuple[str, int, int]) -> None:
    kind, index, count = op
    with hub.uow(actor="test") as uow:
        lines = uow.orders.get(order_id).lines
        line = lines[index % len(lines)].id
        uow.rollback()
        if kind == "cancel":
            cancel_order(uow, order_id=order_id, reason="other", units={line: count})
        elif kind == "refund":
            refunds.refund_units(uow, order_id=order_id, units={line: count}, reason="goodwill")
        elif kind == "return":
            rma = returns.open_return(uow, order_id=order_id, units={line: count}, reason="r")
            for action in (
                returns.Action("authorize"),
                returns.Action("receive", location="east"),
                returns.Action("inspect", dispositions={line: Disposition.RESTOCK}),
                returns.Action("refund"),
            ):
                returns.act(uow, return_id=rma, action=action)
    if kind == "ship":
        dispatch(hub, order_id)
        ship(hub, order_id, tag=f"P{next(_numbers)}")


def _check(hub: Container, order_id: str) -> None:
    with hub.uow(read_only=True) as uow:
        order = uow.orders.get(order_id)
        paid = order.ordered_totals.total
        stored = uow.after_sale.refunds_of(order_id)
        refunded = Money.from_minor(sum(r.amount_minor for r in stored), order.currency)
        assert refunded <= paid
        units: dict[str, int] = {}
        for refund in stored:
            for line in refund.lines:
                units[line["line_id"]] = units.get(line["line_id"], 0) + line["quantity"]
        assert all(units.get(x.id, 0) <= x.quantity for x in order.lines)
        if all(units.get(x.id, 0) == x.quantity for x in order.lines):
            assert refunded == paid  # the last refund took the remainder, shipping included
        view = refunds.ledger(uow, order_id=order_id)
        assert view.charged == paid
        assert not view.balance.is_negative()
        levels = uow.stock.levels(SKUS)
        assert all(level.on_hand >= 0 and level.reserved >= 0 for level in levels)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(order=orders(), ops=operations)
def test_no_sequence_over_refunds_or_drives_stock_negative(
    hub: Container, order: dict[str, object], ops: list[tuple[str, int, int]]
) -> None:
    order_id = allocated_order(hub, f"P-{next(_numbers)}", **order)
    for op in ops:
        # a refusal (too many units, wrong state) is a fine outcome; it must not leak money
        with contextlib.suppress(OrderHubError):
            _apply(hub, order_id, op)
        _check(hub, order_id)
