"""The demo's seed: routing rules a merchant would have, and weeks of past orders."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.clock import utc_now
from orderhub.demo.hub import seed
from orderhub.demo.inventory import DEMO_STOCK
from orderhub.services.allocation import allocate_order
from orderhub.services.ingest import ingest_order
from orderhub.services.inventory_check import find_drift
from orderhub.store import history
from orderhub.store import tables as t


def order_to(container: Container, number: int, country: str, region: str | None, city: str) -> str:
    """Where a one-mug web order to ``city`` ships from."""
    body = {
        "channel": "web", "external_id": f"WHERE-{number}", "currency": "USD",
        "placed_at": utc_now().isoformat(),
        "customer": {"email": "buyer@example.com", "name": "Buyer"},
        "shipping_address": {"country": country, "region": region, "city": city},
        "lines": [{"sku": "MUG-LOGO", "quantity": 1, "unit_price": "12.50"}],
    }  # fmt: skip
    order = native.NativeOrder.model_validate(body)
    with container.uow(actor="test") as uow:
        created = ingest_order(
            uow, draft=order.to_draft(), source=native.SOURCE, payload=order.model_dump_json()
        )
    assert created.order_id is not None
    with container.uow(actor="test") as uow:
        plan = allocate_order(uow, order_id=created.order_id).plan
    assert plan is not None
    assert plan.feasible, plan.explanation
    return plan.picks[0].location


def test_the_demo_ships_from_the_nearest_location_that_holds_the_goods(
    container: Container,
) -> None:
    seed(container, orders=0)
    assert order_to(container, 1, "US", "NY", "New York") == "nj"  # not Berlin
    assert order_to(container, 2, "AT", None, "Wien") == "ber"
    assert order_to(container, 3, "GB", "ENG", "London") == "lon"
    with container.uow(read_only=True) as uow:
        rules = uow.routing_rules.active()
    assert rules is not None
    assert rules.rules["max_splits"] == 2
    assert {"domestic", "europe", "intercontinental"} <= {z["zone"] for z in rules.rules["zones"]}


def test_the_demo_history_fills_the_last_weeks_with_shipped_and_returned_orders(
    container: Container,
) -> None:
    seed(container, orders=0, history_days=21)
    today = utc_now().date()
    with container.uow(read_only=True) as uow:
        conn = uow.conn
        placed = [row.placed_at.date() for row in conn.execute(select(t.orders.c.placed_at))]
        statuses = Counter(conn.execute(select(t.orders.c.status)).scalars())
        shipped_days = {
            row.shipped_at.date() for row in conn.execute(select(t.shipments.c.shipped_at))
        }
        returns = conn.execute(select(func.count()).select_from(t.returns)).scalar_one()
        past = select(t.orders.c.id).where(t.orders.c.placed_at < utc_now() - timedelta(hours=20))
        past_streams = [f"order:{order_id}" for order_id in conn.execute(past).scalars()]
        unsent = conn.execute(
            select(func.count())
            .select_from(t.outbox)
            .where(t.outbox.c.fanned_out.is_(False), t.outbox.c.stream.in_(past_streams))
        ).scalar_one()
        breaks = [item for item in history.verify(conn) if isinstance(item, history.ChainBreak)]
        _checked, drifts = find_drift(uow)
        levels = {(level.sku, level.location): level for level in uow.stock.all_levels()}
    last_two_weeks = {today - timedelta(days=n) for n in range(1, 15)}
    assert len(last_two_weeks & set(placed)) >= 12  # weekends can be quiet, not empty weeks
    assert min(placed) >= today - timedelta(days=22)
    assert statuses["shipped"] > len(placed) / 2
    assert len(shipped_days & last_two_weeks) >= 10
    assert returns >= 1
    assert breaks == []
    assert drifts == []
    # The history's events count as delivered: the demo's worker must not dispatch them again.
    assert unsent == 0
    # The count at the end leaves each shelf at its opening level, plus what is reserved.
    for sku, location, units in DEMO_STOCK:
        level = levels[(sku, location)]
        assert level.on_hand - level.reserved <= units, (sku, location)
        assert level.on_hand >= units, (sku, location)
