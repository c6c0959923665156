"""Announced available-to-sell stays equal to the figure computed from scratch.

At commit only the figures a transaction can have moved are recomputed: the channels served by a
location whose level changed, an overridden (channel, SKU), figures never announced, or every
figure after a channel or location change. These tests compare the last announced figure of
every (channel, SKU) with a full recomputation, after each kind of change and after concurrent
clients, and check that each event carries the figure it replaced.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy
from sqlalchemy import select

from orderhub.bootstrap import Container
from orderhub.domain.channels import Channel, ChannelKind
from orderhub.services.allocation import allocate_order
from orderhub.services.inventory import StockAdjustment, adjust_stock
from orderhub.services.orders import cancel_order
from orderhub.store import tables as t
from tests.integration.inventory_helpers import add_locations, outbox_events, place, receive

SKUS = ("SKU-1", "SKU-2", "SKU-3")


def announced(container: Container) -> dict[tuple[str, str], int]:
    a = t.channel_availability.c
    with container.uow(read_only=True) as uow:
        rows = uow.conn.execute(select(a.channel_code, a.sku, a.available))
        return {(r.channel_code, r.sku): r.available for r in rows}


def recomputed(container: Container) -> dict[tuple[str, str], int]:
    with container.uow(read_only=True) as uow:
        return dict(uow.availability.available_to_sell(SKUS))


def assert_announced_is_current(container: Container) -> None:
    """Every figure as last announced (0 when never) equals a recomputation from scratch."""
    last = announced(container)
    assert {key: last.get(key, 0) for key in recomputed(container)} == recomputed(container)


def restrict(container: Container, location: str, channels: list[str] | None) -> None:
    with container.uow(actor="test") as uow:
        loc = uow.locations.get(location)
        loc.channels = channels
        uow.locations.save(loc)
        uow.availability.touch_all()  # as the locations API does
        uow.commit()


def test_only_the_channels_a_location_serves_are_announced_and_all_stay_current(
    seeded: Container,
) -> None:
    add_locations(seeded, ("a", 1), ("b", 2))
    restrict(seeded, "a", ["web"])  # a serves web only; b serves both
    before = len(outbox_events(seeded, "inventory.available_changed"))

    receive(seeded, "SKU-1", "a", 5)

    changed = outbox_events(seeded, "inventory.available_changed")[before:]
    assert [(e["channel"], e["sku"], e["previous"], e["available"]) for e in changed] == [
        ("web", "SKU-1", 0, 5)
    ]
    assert_announced_is_current(seeded)


def test_figures_stay_current_through_every_kind_of_change(seeded: Container) -> None:
    add_locations(seeded, ("a", 1), ("b", 2))
    restrict(seeded, "a", ["web"])
    steps: list[Callable[[], object]] = [
        lambda: receive(seeded, "SKU-1", "a", 5),
        lambda: receive(seeded, "SKU-1", "b", 3),
        lambda: receive(seeded, "SKU-2", "b", 4),
        lambda: allocate(seeded, place(seeded, 1, [("SKU-1", 2), ("SKU-2", 1)])),
        lambda: allocate(seeded, place(seeded, 2, [("SKU-1", 4)], channel="app")),
        lambda: safety(seeded, "app", "SKU-2", 2),
        lambda: safety(seeded, "app", "SKU-2", None),
        # A channel added without a touch gets each SKU's figure when the SKU next moves,
        # even at a location that does not serve it (a serves web only).
        lambda: add_channel_then_receive(seeded, "late", [("SKU-1", "a"), ("SKU-2", "a")]),
        lambda: restrict(seeded, "a", None),  # a now serves every channel
        lambda: receive(seeded, "SKU-1", "b", 1),
        lambda: cancel(seeded, 1),
        lambda: count(seeded, "SKU-1", "a", 1),
    ]
    for step in steps:
        step()
        assert_announced_is_current(seeded)
    # Each event names the figure it replaced: replaying them gives the figures announced.
    replayed: dict[tuple[str, str], int] = {}
    for event in outbox_events(seeded, "inventory.available_changed"):
        key = (event["channel"], event["sku"])
        assert replayed.get(key, 0) == event["previous"]
        replayed[key] = event["available"]
    assert replayed == {key: n for key, n in announced(seeded).items() if n or key in replayed}


def test_concurrent_clients_leave_every_figure_current(seeded: Container) -> None:
    """Reservations and receipts at different locations of the same SKUs, all at once."""
    add_locations(seeded, ("a", 1), ("b", 2), ("c", 3))
    restrict(seeded, "a", ["web"])
    restrict(seeded, "c", ["app"])
    for location in ("a", "b", "c"):
        for sku in SKUS:
            receive(seeded, sku, location, 3)
    order_ids = [
        place(seeded, n, [(SKUS[n % 3], 1 + n % 2)], channel=("web", "app")[n % 2])
        for n in range(18)
    ]
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            work()
        except BaseException as error:  # reported below, not swallowed
            errors.append(error)

    def allocate_all(ids: list[str]) -> Callable[[], None]:
        def work() -> None:
            for order_id in ids:
                allocate(seeded, order_id)

        return work

    def receive_all(location: str) -> Callable[[], None]:
        def work() -> None:
            for sku in SKUS * 2:
                receive(seeded, sku, location, 1)

        return work

    threads = [
        threading.Thread(target=run, args=(work,))
        for work in (
            allocate_all(order_ids[0::2]),
            allocate_all(order_ids[1::2]),
            receive_all("a"),
            receive_all("c"),
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert_announced_is_current(seeded)


def allocate(container: Container, order_id: str) -> None:
    with container.uow(actor="test") as uow:
        allocate_order(uow, order_id=order_id)


def safety(container: Container, channel: str, sku: str, quantity: int | None) -> None:
    with container.uow(actor="test") as uow:
        uow.availability.set_safety_stock(channel, sku, quantity)
        uow.commit()


def add_channel_then_receive(
    container: Container, code: str, receipts: list[tuple[str, str]]
) -> None:
    with container.uow(actor="test") as uow:
        uow.channels.add(Channel(code=code, name=code, kind=ChannelKind.NATIVE))
        uow.commit()
    for sku, location in receipts:
        receive(container, sku, location, 1)


def cancel(container: Container, number: int) -> None:
    with container.uow(actor="test") as uow:
        order_id = uow.orders.id_by_external("web", f"X-{number}")
        assert order_id is not None
        cancel_order(uow, order_id=order_id, reason="test")


def count(container: Container, sku: str, location: str, on_hand: int) -> None:
    with container.uow(actor="test") as uow:
        adjust_stock(
            uow,
            items=[StockAdjustment(sku, location, on_hand=on_hand, as_of=datetime.now(UTC))],
        )


def test_a_figure_takes_its_override_and_levels_from_one_read(seeded: Container) -> None:
    """The overrides and the levels a figure is computed from are read in one statement: each
    row goes where it belongs (an override to its channel, a level to its location)."""
    add_locations(seeded, ("a", 1), ("b", 2))
    restrict(seeded, "a", ["web"])
    receive(seeded, "SKU-1", "a", 5)
    receive(seeded, "SKU-1", "b", 3)
    receive(seeded, "SKU-2", "b", 4)
    allocate(seeded, place(seeded, 1, [("SKU-1", 2)], channel="app"))  # reserved at b
    safety(seeded, "app", "SKU-2", 3)
    safety(seeded, "web", "SKU-1", 1)
    statements: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()))

    sqlalchemy.event.listen(seeded.engine, "before_cursor_execute", record)
    try:
        with seeded.uow(read_only=True) as uow:
            default = {c.code: c.safety_stock for c in uow.channels.list()}
            statements.clear()
            figures = uow.availability.available_to_sell(SKUS, uow.channels.list())
    finally:
        sqlalchemy.event.remove(seeded.engine, "before_cursor_execute", record)
    assert {key: n for key, n in figures.items() if key[0] in ("web", "app")} == {
        ("web", "SKU-1"): max(0, 5 + 3 - 2 - 1),
        ("app", "SKU-1"): max(0, 3 - 2 - default["app"]),
        ("web", "SKU-2"): max(0, 4 - default["web"]),
        ("app", "SKU-2"): max(0, 4 - 3),
        ("web", "SKU-3"): 0,
        ("app", "SKU-3"): 0,
    }
    reads = [s for s in statements if "stock_levels" in s or "channel_safety_stock" in s]
    assert len(reads) == 1


def test_an_announcement_reads_its_figures_overrides_and_levels_once(seeded: Container) -> None:
    """SQLite (its writer holds the database) reads the last figures with the overrides and
    levels, in one statement; PostgreSQL locks the figures first, then reads the rest (with
    the configuration's stamps)."""
    add_locations(seeded, ("a", 1))
    receive(seeded, "SKU-1", "a", 5)
    safety(seeded, "app", "SKU-1", 2)
    statements: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_args: object) -> None:
        statements.append(" ".join(statement.split()))

    sqlalchemy.event.listen(seeded.engine, "before_cursor_execute", record)
    try:
        receive(seeded, "SKU-1", "a", 3)
    finally:
        sqlalchemy.event.remove(seeded.engine, "before_cursor_execute", record)
    reads = [
        s
        for s in statements
        if s.startswith("SELECT") and ("channel_availability" in s or "channel_safety" in s)
    ]
    if seeded.engine.dialect.name == "sqlite":
        assert len(reads) == 1
        assert "stock_levels" in reads[0]
    else:
        assert [("FOR UPDATE" in s, "stock_levels" in s) for s in reads] == [
            (True, False),
            (False, True),
        ]
        # the configuration's stamps read with the levels, after the locks, not on their own
        assert "config_stamps" in reads[1]
        between = statements[statements.index(reads[0]) : statements.index(reads[1])]
        assert not [s for s in between if s.startswith("SELECT config_stamps.name")]
        assert "SELECT config_stamps.name" not in statements[statements.index(reads[1]) + 1]
    changed = outbox_events(seeded, "inventory.available_changed")[-2:]
    assert sorted((e["channel"], e["previous"], e["available"]) for e in changed) == [
        ("app", 3, 6),
        ("web", 5, 8),
    ]
    assert_announced_is_current(seeded)
