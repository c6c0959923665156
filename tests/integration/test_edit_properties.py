"""Property: random sequences of order edits (quantities up and down, lines added and removed,
the address moved between coasts, shipping repriced) through the service, on SQLite with
little stock, never oversell, keep every reservation equal to the units the order still
wants, and keep the money exact: each edit's difference is the change of the order's total,
the ledger's charges less its credits are the order's total, and a refused edit changes
nothing."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderhub.bootstrap import Container, bootstrap
from orderhub.config import Settings
from orderhub.domain.catalog import Product
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.domain.editing import AddLine, ChangeLine, OrderEdit, ShippingChange
from orderhub.domain.errors import OrderHubError
from orderhub.domain.money import Money
from orderhub.domain.orders import Address, LineStatus
from orderhub.domain.routing import RuleSet
from orderhub.services import refunds
from orderhub.services.allocation import allocate_order
from orderhub.services.editing import edit_order
from orderhub.services.routing import put_rules
from tests.integration.edit_support import CA, NY, rules, two_coasts
from tests.integration.fulfilment_support import place_order

SKUS = ("SKU-1", "SKU-2", "SKU-3")
ADDRESSES = (Address(**NY), Address(**CA))


@pytest.fixture
def fresh_hub(sqlite_template: Path, tmp_path: Path) -> Iterator[Any]:
    """A hub per example: stock is scarce, so examples must not share it."""
    made: list[Container] = []

    def make(units: int) -> Container:
        target = tmp_path / f"hub-{len(made)}.db"
        shutil.copyfile(sqlite_template, target)
        container = bootstrap(Settings(database_url=f"sqlite:///{target}"))
        made.append(container)
        with container.uow(actor="test") as uow:
            uow.channels.add(Channel(code="web", name="Web", kind=ChannelKind.NATIVE))
            for sku in SKUS:
                uow.catalog.upsert(Product(sku, sku, 250))
            put_rules(uow=uow, rules=RuleSet.model_validate(rules()), author="test", comment=None)
        two_coasts(container, units=units)
        return container

    yield make
    for container in made:
        container.close()


def _cents(value: int) -> Decimal:
    return Decimal(value) / 100


edits = st.lists(
    st.one_of(
        st.tuples(st.just("change"), st.integers(0, 5), st.integers(0, 4)),
        st.tuples(st.just("add"), st.sampled_from(SKUS), st.integers(1, 3), st.integers(1, 5000)),
        st.tuples(st.just("address"), st.integers(0, 1)),
        st.tuples(st.just("shipping"), st.integers(0, 2000)),
    ),
    min_size=1,
    max_size=6,
)


def _edit(step: tuple[Any, ...], line_ids: list[str]) -> OrderEdit:
    kind = step[0]
    if kind == "change":
        return OrderEdit(change_lines=(ChangeLine(line_ids[step[1] % len(line_ids)], step[2]),))
    if kind == "add":
        return OrderEdit(add_lines=(AddLine(step[1], step[2], unit_price=_cents(step[3])),))
    if kind == "address":
        return OrderEdit(shipping_address=ADDRESSES[step[1]])
    return OrderEdit(shipping=ShippingChange(price=_cents(step[1])))


def _state(container: Container, order_id: str) -> dict[str, Any]:
    with container.uow(read_only=True) as uow:
        order = uow.orders.get(order_id)
        levels = list(uow.stock.all_levels())
        ledger = refunds.ledger(uow, order_id=order_id)
        stored_total = uow.conn.exec_driver_sql(
            "SELECT total_minor FROM orders WHERE id = ?", (order_id,)
        ).scalar()
    return {"order": order, "levels": levels, "ledger": ledger, "stored_total": stored_total}


def _check(state: dict[str, Any]) -> None:
    order, levels, ledger = state["order"], state["levels"], state["ledger"]
    for level in levels:  # no oversell, nothing negative
        assert 0 <= level.reserved <= level.on_hand, level
    wanted: dict[str, int] = {}
    for line in order.lines:
        if line.status in (LineStatus.ALLOCATED, LineStatus.IN_FULFILMENT):
            wanted[line.sku] = wanted.get(line.sku, 0) + line.open_quantity
    held: dict[str, int] = {}
    for level in levels:
        held[level.sku] = held.get(level.sku, 0) + level.reserved
    assert {k: v for k, v in held.items() if v} == {k: v for k, v in wanted.items() if v}
    total = order.totals.total
    assert state["stored_total"] == total.minor
    credits = Money.from_minor(
        sum(e.amount_minor for e in ledger.entries if e.kind == "credit"), order.currency
    )
    assert ledger.charged - credits == total  # every edit's difference booked, to the cent


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(units=st.integers(2, 6), steps=edits)
def test_random_edit_sequences_never_oversell_and_keep_the_money_exact(
    fresh_hub: Any, units: int, steps: list[tuple[Any, ...]]
) -> None:
    hub = fresh_hub(units)
    order_id = place_order(hub, "P-1", shipping_address=NY)
    with hub.uow(actor="test") as uow:
        allocate_order(uow, order_id=order_id)
    for step in steps:
        before = _state(hub, order_id)
        line_ids = [line.id for line in before["order"].lines]
        try:
            with hub.uow(actor="test") as uow:
                outcome = edit_order(uow, order_id=order_id, edit=_edit(step, line_ids))
        except OrderHubError:  # refused (422 or 409): then nothing may have moved
            after = _state(hub, order_id)
            assert after["order"].totals == before["order"].totals
            assert [(x.sku, x.location, x.reserved) for x in after["levels"]] == [
                (x.sku, x.location, x.reserved) for x in before["levels"]
            ]
            continue
        after = _state(hub, order_id)
        assert outcome.before.total == before["order"].totals.total
        assert outcome.after.total == after["order"].totals.total
        if step[0] == "add":  # a hand-priced line adds exactly its price × quantity
            assert outcome.difference == Money(_cents(step[3]) * step[2], "USD")
        _check(after)
