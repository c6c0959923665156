"""What must hold after every step of the model, read straight from the database.

Each check reads only durable state (tables the outside contract is built on: stock levels, the
ledger, allocations, orders and lines, history, outbox, receipts, refunds, announced figures), so
the checks hold whatever the worker pipeline looks like inside. A failed check raises
AssertionError naming what broke; hypothesis then shrinks the sequence that led there.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select

from orderhub.domain.money import Money
from orderhub.domain.orders import LineStatus, OrderStatus
from orderhub.services import refunds
from orderhub.store import history
from orderhub.store import tables as t
from orderhub.store.unit_of_work import UnitOfWork

# Switches for invariants the current code is known to break (each names its defect). The lead
# flips one (fixed=True) when its fix is merged; ORDERHUB_MODEL_ALL_INVARIANTS=1 turns them all on,
# ORDERHUB_MODEL_INVARIANTS=NAME,NAME some of them, to watch the model catch the defects.
_ALL = os.environ.get("ORDERHUB_MODEL_ALL_INVARIANTS") == "1"
_ON = set(os.environ.get("ORDERHUB_MODEL_INVARIANTS", "").split(","))  # switch names to force on


def _switch(name: str, *, fixed: bool) -> bool:
    return fixed or _ALL or name in _ON


# Issue #15, "cancelling an allocated order does not wake backorders" (check_backorders_woken).
WAKE_BACKORDERS_FIXED = _switch("WAKE_BACKORDERS_FIXED", fixed=True)
# Found by the model: cancelling the short units of a backordered order leaves it waiting although
# the rest could be filled now (nothing was reserved, so nothing is released and nobody allocates).
LINE_CANCEL_ALLOCATES_FIXED = _switch("LINE_CANCEL_ALLOCATES_FIXED", fixed=True)
# Issue #15, "a refused exchange still writes" (check_orders: no order nobody created).
REFUSED_EXCHANGE_FIXED = _switch("REFUSED_EXCHANGE_FIXED", fixed=True)
# Found by the model: a transient provider failure while the worker dispatches strands the
# fulfilment order in ``created`` (the consumer's receipt was committed with create_fulfilments,
# so the retry skips the dispatch) — check_drained: no fulfilment order left ``created``.
DISPATCH_RETRY_FIXED = _switch("DISPATCH_RETRY_FIXED", fixed=True)
# Found by the model: after a count leaves on hand below reserved (documented as allowed), shipping
# the reserved units broke ck_stock_levels_on_hand_not_negative (IntegrityError, a 500); now
# refused with ShelfShort (a 409), which the model's ship step expects instead.
SHORT_SHELF_SHIP_FIXED = _switch("SHORT_SHELF_SHIP_FIXED", fixed=True)

_SHIPPED_LINE = frozenset({LineStatus.SHIPPED.value, LineStatus.DELIVERED.value})


@dataclass
class Seen:
    """What earlier checks saw, so that later ones notice what went missing."""

    events_per_order: dict[str, int] = field(default_factory=dict)
    # (SKU, location) a count or shrinkage left with fewer on hand than reserved (documented:
    # "the shelf is what it is"); reserved <= on_hand is not required there until it recovers.
    short_shelves: set[tuple[str, str]] = field(default_factory=set)


def check_stock(uow: UnitOfWork, seen: Seen) -> None:
    """0 <= reserved <= on_hand, reserved = Σ open allocations, the ledger sums to the levels."""
    levels = {(lv.sku, lv.location): lv for lv in uow.stock.all_levels()}
    held = uow.stock.open_reserved_totals()
    ledger = uow.stock.ledger_totals()
    for key in sorted(set(levels) | set(held) | set(ledger)):
        level = levels.get(key)
        on_hand, reserved = (level.on_hand, level.reserved) if level else (0, 0)
        assert on_hand >= 0, f"{key}: on hand {on_hand} < 0"
        assert reserved >= 0, f"{key}: reserved {reserved} < 0"
        if reserved <= on_hand:
            seen.short_shelves.discard(key)
        assert reserved <= on_hand or key in seen.short_shelves, (
            f"{key}: reserved {reserved} > on hand {on_hand} (no count or shrinkage explains it)"
        )
        assert reserved == held.get(key, 0), (
            f"{key}: reserved {reserved} but open allocations hold {held.get(key, 0)}"
        )
        assert (on_hand, reserved) == ledger.get(key, (0, 0)), (
            f"{key}: level {(on_hand, reserved)} but the ledger sums to {ledger.get(key)}"
        )
    a = t.allocations.c
    for row in uow.conn.execute(select(a.id, a.quantity, a.open_quantity, a.shipped_quantity)):
        assert row.open_quantity >= 0, f"allocation {row}"
        assert row.shipped_quantity >= 0, f"allocation {row}"
        assert row.open_quantity + row.shipped_quantity <= row.quantity, f"allocation {row}"


def check_orders(uow: UnitOfWork, expected_keys: set[tuple[str, str]]) -> None:
    """One order per natural key, and exactly the orders the model created (none lost)."""
    o = t.orders.c
    keys = Counter(
        (r.channel_code, r.external_id)
        for r in uow.conn.execute(select(o.channel_code, o.external_id))
    )
    twice = sorted(k for k, n in keys.items() if n > 1)
    assert not twice, f"natural keys with more than one order: {twice}"
    lost, unexpected = sorted(expected_keys - set(keys)), sorted(set(keys) - expected_keys)
    assert not lost, f"orders lost: {lost}"
    assert not unexpected, f"orders nobody created: {unexpected}"
    ol = t.order_lines.c
    for row in uow.conn.execute(select(ol.id, ol.quantity, ol.cancelled_quantity)):
        assert 0 <= row.cancelled_quantity <= row.quantity, f"line {row}"
    # Units reserved or shipped for a line never exceed what is left of it after cancellations.
    a = t.allocations.c
    live = select(
        a.line_id, func.sum(a.open_quantity + a.shipped_quantity).label("units")
    ).group_by(a.line_id)
    quantities = {
        r.id: r.quantity - r.cancelled_quantity
        for r in uow.conn.execute(select(ol.id, ol.quantity, ol.cancelled_quantity))
    }
    for row in uow.conn.execute(live):
        ordered = quantities[row.line_id]
        assert int(row.units) <= ordered, (
            f"line {row.line_id}: {row.units} units reserved or shipped, {ordered} ordered"
        )


def check_history(uow: UnitOfWork, seen: Seen) -> None:
    """Every chain verifies, no event disappears, every order event has its outbox row."""
    breaks = [b for b in history.verify(uow.conn) if isinstance(b, history.ChainBreak)]
    assert not breaks, f"broken chains: {breaks}"
    e, ob = t.order_events.c, t.outbox.c
    counts = {
        r.order_id: r.n
        for r in uow.conn.execute(select(e.order_id, func.count().label("n")).group_by(e.order_id))
    }
    for order_id, before in seen.events_per_order.items():
        assert counts.get(order_id, 0) >= before, (
            f"order {order_id}: {counts.get(order_id, 0)} events, {before} seen before (truncated)"
        )
    seen.events_per_order = counts
    missing = uow.conn.execute(
        select(func.count()).select_from(t.order_events).where(e.id.not_in(select(ob.id)))
    ).scalar_one()
    assert missing == 0, f"{missing} order event(s) without their outbox row"
    stray = uow.conn.execute(
        select(func.count())
        .select_from(t.outbox)
        .where(ob.stream.like("order:%"), ob.id.not_in(select(e.id)))
    ).scalar_one()
    assert stray == 0, f"{stray} order-stream outbox row(s) without their history event"


def check_effects_once(uow: UnitOfWork) -> None:
    """No internal effect twice: one receipt per (consumer, event); at most one live fulfilment
    order per (order, location); fulfilment orders never hold more units than the line has."""
    p = t.processed_events.c
    twice = uow.conn.execute(
        select(p.consumer, p.event_id).group_by(p.consumer, p.event_id).having(func.count() > 1)
    ).all()
    assert not twice, f"events processed twice: {twice}"
    f = t.fulfilment_orders.c
    live = ("created", "dispatched", "accepted", "in_progress")
    rows = uow.conn.execute(
        select(f.order_id, f.location, func.count())
        .where(f.status.in_(live))
        .group_by(f.order_id, f.location)
        .having(func.count() > 1)
    ).all()
    assert not rows, f"two live fulfilment orders at one location: {rows}"


def check_money(uow: UnitOfWork) -> None:
    """Per order Σ refunds <= charged; refunding every unit refunds exactly the total."""
    r = t.refunds.c
    order_ids = list(uow.conn.execute(select(r.order_id).distinct()).scalars())
    for order_id in order_ids:
        order = uow.orders.get(order_id)
        stored = uow.after_sale.refunds_of(order_id)
        refunded = Money.from_minor(sum(x.amount_minor for x in stored), order.currency)
        charged = refunds.ledger(uow, order_id=order_id).charged
        assert refunded <= charged, f"order {order_id}: refunded {refunded} > charged {charged}"
        units: Counter[str] = Counter()
        for refund in stored:
            for line in refund.lines:
                units[line["line_id"]] += line["quantity"]
        assert all(units[x.id] <= x.quantity for x in order.lines), f"order {order_id}: {units}"
        if all(units[x.id] == x.quantity for x in order.lines):
            assert refunded == charged, (
                f"order {order_id}: every unit refunded, {refunded} of {charged}"
            )


def check_available_to_sell(uow: UnitOfWork) -> None:
    """The last announced figure per (channel, SKU) is the one computed from today's levels."""
    ca = t.channel_availability.c
    announced = {
        (r.channel_code, r.sku): r.available
        for r in uow.conn.execute(select(ca.channel_code, ca.sku, ca.available))
    }
    skus = {lv.sku for lv in uow.stock.all_levels()}
    computed = uow.availability.available_to_sell(skus)
    for key, figure in sorted(computed.items()):
        assert announced.get(key, 0) == figure, (
            f"{key}: announced {announced.get(key)} but computed {figure}"
        )


def check_drained(uow: UnitOfWork, rejected_at: dict[str, set[str]]) -> None:
    """Once the worker has nothing left to do: no order still ``received``, no fulfilment order
    still ``created``, and waiting orders got what is free, first come, first served.

    ``rejected_at`` maps an order to the locations that refused it: re-routing avoids them, so
    their stock does not count as able to fill that order.
    """
    o = t.orders.c
    received = list(
        uow.conn.execute(select(o.id).where(o.status == OrderStatus.RECEIVED.value)).scalars()
    )
    assert not received, f"orders left received after the worker drained: {received}"
    f = t.fulfilment_orders.c
    created = list(uow.conn.execute(select(f.id).where(f.status == "created")).scalars())
    assert not created or not DISPATCH_RETRY_FIXED, f"fulfilment orders never dispatched: {created}"
    if WAKE_BACKORDERS_FIXED and LINE_CANCEL_ALLOCATES_FIXED:
        check_backorders_woken(uow, rejected_at)


def check_backorders_woken(uow: UnitOfWork, rejected_at: dict[str, set[str]]) -> None:
    """Walk the backordered orders in placement order over the free stock: none may be fully
    coverable by what earlier waiting orders leave (they hold their units, as allocation does)."""
    free: dict[tuple[str, str], int] = defaultdict(int)
    active = {loc.code for loc in uow.locations.list() if loc.active}
    for lv in uow.stock.all_levels():
        if lv.location in active:
            free[(lv.sku, lv.location)] = max(0, lv.on_hand - lv.reserved)
    o, ol = t.orders.c, t.order_lines.c
    waiting = uow.conn.execute(
        select(o.id).where(o.status == OrderStatus.BACKORDERED.value).order_by(o.placed_at, o.id)
    ).scalars()
    for order_id in list(waiting):
        need: Counter[str] = Counter()
        for row in uow.conn.execute(
            select(ol.sku, ol.quantity, ol.cancelled_quantity).where(
                ol.order_id == order_id, ol.status == LineStatus.BACKORDERED.value
            )
        ):
            need[row.sku] += row.quantity - row.cancelled_quantity
        usable = {k: v for k, v in free.items() if k[1] not in rejected_at.get(order_id, set())}
        if need and all(
            sum(v for (s, _), v in usable.items() if s == sku) >= n for sku, n in need.items()
        ):
            raise AssertionError(
                f"backordered order {order_id} needs {dict(need)} and that much is free "
                f"after earlier waiting orders: { {k: v for k, v in usable.items() if v} }"
            )
        for sku, n in need.items():  # hold this order's units back from later ones
            for key in sorted(k for k in free if k[0] == sku):
                take = min(n, free[key])
                free[key] -= take
                n -= take


def check_all(uow: UnitOfWork, seen: Seen, expected_keys: set[tuple[str, str]]) -> None:
    check_stock(uow, seen)
    check_orders(uow, expected_keys)
    check_history(uow, seen)
    check_effects_once(uow)
    check_money(uow)
    check_available_to_sell(uow)
