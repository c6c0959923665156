"""What one reservation costs in SQL statements, pinned so a regression shows up in review.

``allocate_order`` reads the order, its channel, the rule version, stock, locations, earlier
waiting orders, products and today's counts once per order — not once per line, SKU or
channel — and writes the ledger, allocations, lines, history and outbox in one statement
each. Only the guarded UPDATEs grow with the order: one per (SKU, location) reserved, in a
savepoint on PostgreSQL when there are several. A change that goes back to per-line or
per-channel queries breaks these bounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from orderhub.bootstrap import Container
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services.allocation import AllocationOutcome, allocate_order
from tests.integration.inventory_helpers import add_locations, place, receive

# One single-line order with two channels, on SQLite (BEGIN IMMEDIATE included) and PostgreSQL:
# 26 and 25 when this was written; before, 31 and 29, and more for every line, SKU and channel.
# One more since: the order's history anchor moves with the event it appends (order_chain_heads).
SINGLE_LINE_AT_MOST = 27


@contextmanager
def counting(container: Container) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        sent.append(statement)

    event.listen(container.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(container.engine, "before_cursor_execute", count)


def allocate_counting(container: Container, order_id: str) -> tuple[list[str], set[object]]:
    """The statements sent, and the (SKU, location) pairs reserved."""
    with counting(container) as sent, container.uow(actor="test") as uow:
        outcome: AllocationOutcome = allocate_order(uow, order_id=order_id)
    assert outcome.status.value == "allocated"
    assert outcome.plan is not None
    return sent, {(pick.sku, pick.location) for pick in outcome.plan.picks}


def test_a_single_line_reservation_stays_within_its_statement_budget(seeded: Container) -> None:
    add_locations(seeded, ("a", 1), ("b", 2))
    receive(seeded, "SKU-1", "a", 5)
    allocate_counting(seeded, place(seeded, 0, [("SKU-1", 1)]))  # warm: first-of-day rows

    sent, _ = allocate_counting(seeded, place(seeded, 1, [("SKU-1", 1)]))

    assert len(sent) <= SINGLE_LINE_AT_MOST, "\n".join(sent)


def test_more_lines_skus_and_channels_add_only_the_guarded_updates(seeded: Container) -> None:
    add_locations(seeded, ("a", 1), ("b", 2))
    with seeded.uow(actor="test") as uow:  # more channels: the figures are per channel
        for code in ("c1", "c2", "c3"):
            uow.channels.add(Channel(code=code, name=code, kind=ChannelKind.NATIVE))
        uow.commit()
    stock = {("SKU-1", "a"): 4, ("SKU-2", "b"): 5, ("SKU-3", "a"): 1, ("SKU-3", "b"): 5}
    for (sku, location), quantity in stock.items():
        receive(seeded, sku, location, quantity)
    allocate_counting(seeded, place(seeded, 0, [("SKU-1", 1)]))  # warm: first-of-day rows
    single, _ = allocate_counting(seeded, place(seeded, 1, [("SKU-1", 1)]))

    # Four lines of three SKUs; neither location has them all, so the order is split.
    lines = [("SKU-1", 1), ("SKU-2", 3), ("SKU-3", 1), ("SKU-3", 2)]
    sent, pairs = allocate_counting(seeded, place(seeded, 2, lines))

    guarded = [s for s in sent if s.lstrip().upper().startswith("UPDATE STOCK_LEVELS")]
    savepoint = [s for s in sent if "SAVEPOINT" in s.upper()]
    assert len(pairs) >= 3
    assert len(guarded) == len(pairs)  # one guarded UPDATE per (SKU, location)
    # SAVEPOINT and RELEASE around them on PostgreSQL; SQLite's single writer needs none (a
    # failed guard gives back what the plan's earlier guards took).
    assert len(savepoint) == (2 if seeded.engine.dialect.name == "postgresql" else 0)
    # The rest is the single-line order's budget (its one guarded UPDATE taken out).
    assert len(sent) - len(guarded) - len(savepoint) <= len(single) - 1, "\n".join(sent)
