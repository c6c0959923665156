"""Six weeks of past orders for the demo, so that its 14-day charts and 30-day reports are full.

Each past order goes through the real services at its own time (a clock moved forward order by
order): ingested, routed and reserved, handed to its location's provider, shipped a few hours
to two days later, delivered, and now and then returned and refunded; a few are cancelled.
Stock for all of it is received at the start, and a count at the end leaves each shelf at the
demo's opening levels (``inventory.DEMO_STOCK``), so the live demo starts as scarce as before.

The history's outbox events count as delivered long ago (``fanned_out``): the worker starting
with the demo must not dispatch six weeks of orders again.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select, update

from orderhub.bootstrap import Container
from orderhub.channels import native
from orderhub.domain.errors import OrderHubError
from orderhub.domain.fulfilment import TrackingStatus
from orderhub.domain.orders import OrderStatus
from orderhub.fulfilment.base import Accepted, ProviderUpdate, Shipped, TrackingUpdate
from orderhub.fulfilment.warehouse import WarehouseProvider
from orderhub.services import fulfilment, returns
from orderhub.services.allocation import allocate_order
from orderhub.services.fulfilment import FulfilmentDeps
from orderhub.services.fulfilment_wiring import InventoryStock, RoutingRerouter
from orderhub.services.ingest import ingest_order
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.services.orders import cancel_order
from orderhub.store import tables as t

HISTORY_DAYS = 42
CARRIERS = {"ber": "DHL", "nj": "UPS", "lon": "Royal Mail"}
RETURN_REASONS = ["too small", "changed my mind", "arrived damaged", "not as pictured"]
# Received at the start of the history wherever the location stocks the SKU at all.
HISTORY_RECEIPT = 150


class MovingClock:
    """The time of the history being written, set at each step of each order. Orders are
    written one after another, each from placement to refund, so the clock goes back at the
    start of the next: every order's own events are in time order, which is what its history
    chain, its SLA clock and its lead time read."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def set(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@dataclass(frozen=True)
class HistoryCounts:
    orders: int
    shipped: int
    returned: int
    cancelled: int


OrderMaker = Callable[[int, datetime, random.Random], native.NativeOrder]


def seed_history(
    container: Container,
    *,
    now: datetime,
    make_order: OrderMaker,
    stock: Sequence[tuple[str, str, int]],
    days: int = HISTORY_DAYS,
    rng: random.Random | None = None,
) -> HistoryCounts:
    """``days`` of orders before ``now``'s day: 3–11 a weekday, growing towards today, fewer
    at weekends; each shipped unless cancelled (3 %), 7 % of the shipped returned."""
    rng = rng or random.Random(42)
    first_day = now.date() - timedelta(days=days)
    clock = MovingClock(datetime.combine(first_day, time(6, 0), tzinfo=UTC))
    past = replace(container, clock=clock)
    with past.uow(read_only=True) as uow:
        first_seq = uow.conn.execute(select(func.coalesce(func.max(t.outbox.c.seq), 0))).scalar()
    _receive(past, stock)
    plans: list[tuple[datetime, int]] = []
    number = 0
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        busy = 3 + offset * 5 // days  # growing from 3–6 to 8–11 orders a weekday
        count = rng.randint(busy, busy + 3) if day.weekday() < 5 else rng.randint(1, 3)
        for _ in range(count):
            minute = rng.randint(7 * 60, 21 * 60)
            plans.append(
                (datetime.combine(day, time(0, 0), tzinfo=UTC) + timedelta(minutes=minute), number)
            )
            number += 1
    shipped = returned = cancelled = 0
    for placed_at, n in sorted(plans):
        outcome = _one_order(past, clock, make_order(n, placed_at, rng), rng, now=now)
        shipped += outcome in ("shipped", "returned")
        returned += outcome == "returned"
        cancelled += outcome == "cancelled"
    clock.set(now - timedelta(hours=1))
    _count_back(past, stock)
    with past.uow(actor="demo") as uow:  # delivered by the system the history came from
        uow.conn.execute(update(t.outbox).where(t.outbox.c.seq > first_seq).values(fanned_out=True))
        uow.commit()
    return HistoryCounts(len(plans), shipped, returned, cancelled)


def _receive(container: Container, stock: Sequence[tuple[str, str, int]]) -> None:
    with container.uow(actor="demo") as uow:
        adjust_stock(
            uow,
            items=[
                StockAdjustment(sku, location, delta=HISTORY_RECEIPT, reason="purchase order")
                for sku, location, _units in stock
            ],
        )


def _count_back(container: Container, stock: Sequence[tuple[str, str, int]]) -> None:
    """A stock count that leaves each shelf at the demo's opening level (less what is still
    reserved for the history's open orders, which keep their units)."""
    with container.uow(actor="demo") as uow:
        levels = {(level.sku, level.location): level for level in uow.stock.all_levels()}
        adjust_stock(
            uow,
            items=[
                StockAdjustment(
                    sku, location,
                    on_hand=units + levels[(sku, location)].reserved,
                    as_of=container.clock(), reason="cycle count",
                )
                for sku, location, units in stock
            ],
        )  # fmt: skip


def _one_order(
    container: Container,
    clock: MovingClock,
    order: native.NativeOrder,
    rng: random.Random,
    *,
    now: datetime,
) -> str:
    """Ingest, allocate, dispatch, ship, deliver and perhaps return one past order; what
    became of it."""
    placed_at = order.placed_at
    clock.set(placed_at)
    with container.uow(actor="demo") as uow:
        order_id = ingest_order(
            uow, draft=order.to_draft(), source=native.SOURCE, payload=order.model_dump_json()
        ).order_id
    assert order_id is not None
    if rng.random() < 0.03:
        clock.set(placed_at + timedelta(minutes=rng.randint(5, 90)))
        with container.uow(actor="demo") as uow:
            cancel_order(uow, order_id=order_id, reason="customer asked")
        return "cancelled"
    with container.uow(actor="demo") as uow:
        allocated = allocate_order(uow, order_id=order_id)
    if allocated.status != OrderStatus.ALLOCATED or allocated.plan is None:
        return "waiting"
    clock.set(placed_at + timedelta(minutes=rng.randint(2, 30)))
    picks = [pick._asdict() for pick in allocated.plan.picks]
    # Every provider takes a past order like the own warehouse: the simulated 3PL's refusals
    # belong to the live demo, not to orders shipped weeks ago.
    deps = FulfilmentDeps(
        providers=lambda _code: WarehouseProvider(),
        stock=InventoryStock(),
        rerouter=RoutingRerouter(),
        clock=clock,
    )
    with container.uow(actor="demo") as uow:
        fulfilment.create_fulfilments(uow, order_id=order_id, allocations=picks, deps=deps)
        fulfilment.dispatch_pending(uow, order_id=order_id, deps=deps)
        parcels = [
            (f.id, f.provider, f.location, f.status.value)
            for f in uow.fulfilment.for_order(order_id)
        ]
        uow.rollback()
        shipped_at = placed_at + timedelta(hours=rng.choice([3, 5, 8, 20, 26, 30, 44, 52]))
        if shipped_at > now - timedelta(hours=2):
            return "allocated"  # placed lately: still on its way to the shelf
        delivered_at = shipped_at + timedelta(days=rng.randint(1, 4))
        clock.set(shipped_at)
        for fulfilment_id, provider, location, status in parcels:
            carrier = CARRIERS.get(location, "UPS")
            tracking = f"{carrier[:2].upper()}{rng.randrange(10**9, 10**10)}"
            if status not in ("dispatched", "accepted"):
                continue
            updates: list[ProviderUpdate] = (
                [] if status == "accepted" else [Accepted(fulfilment_id)]
            )
            updates.append(Shipped(fulfilment_id, carrier, tracking, shipped_at))
            if delivered_at < now:
                updates.append(TrackingUpdate(tracking, TrackingStatus.DELIVERED, delivered_at))
            fulfilment.apply_updates(uow, provider_code=provider, updates=updates, deps=deps)
    if delivered_at > now - timedelta(days=3) or rng.random() > 0.07:
        return "shipped"
    return _return(container, clock, order_id, delivered_at, rng, now=now)


def _return(
    container: Container,
    clock: MovingClock,
    order_id: str,
    delivered_at: datetime,
    rng: random.Random,
    *,
    now: datetime,
) -> str:
    """A return of the whole first line: requested days after delivery, then authorised,
    received and refunded as far as the time since allows."""
    requested = delivered_at + timedelta(days=rng.randint(1, 6))
    if requested > now:
        return "shipped"
    clock.set(requested)
    try:
        with container.uow(actor="demo") as uow:
            line = uow.orders.get(order_id).lines[0]
            return_id = returns.open_return(
                uow, order_id=order_id, units={line.id: line.quantity},
                reason=rng.choice(RETURN_REASONS), now=requested,
            )  # fmt: skip
    except OrderHubError:
        return "shipped"  # the policy refused it: a demo order like any other
    try:
        steps = [("authorize", 0), ("receive", 4), ("refund", 5)]
        for name, after in steps:
            at = requested + timedelta(days=after, hours=2)
            if at > now:
                break
            clock.set(at)
            with container.uow(actor="demo") as uow:
                location = None
                if name == "receive":
                    location = uow.fulfilment.for_order(order_id)[0].location
                returns.act(
                    uow, return_id=return_id,
                    action=returns.Action(name, location=location), now=at,
                )  # fmt: skip
    except OrderHubError:
        pass  # a step the lifecycle refused: the return stays where it got to
    return "returned"
