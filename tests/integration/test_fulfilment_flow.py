"""Fulfilment through the services, on SQLite and PostgreSQL: allocation → fulfilment orders →
dispatch → rejection and re-route, shipments and tracking moving the order."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from orderhub.bootstrap import Container
from orderhub.domain.fulfilment import FulfilmentStatus, TrackingStatus
from orderhub.domain.orders import LineStatus, OrderStatus
from orderhub.fulfilment.base import ProviderError, Shipped, TrackingUpdate
from orderhub.services import fulfilment as service
from orderhub.services.fulfilment_wiring import on_order_allocated, resume_dispatch, tick
from orderhub.services.messagebus import Message, internal_consumers
from orderhub.store import history
from orderhub.store import tables as t
from orderhub.store.fulfilment import ProviderConfig
from orderhub.workers.relay import Worker
from tests.integration.fulfilment_support import (
    FakeRerouter,
    FakeStock,
    allocate,
    deps,
    place_order,
)
from tests.support.clock import FakeClock


def add_provider(container: Container, config: ProviderConfig) -> None:
    with container.uow(actor="test") as uow:
        uow.fulfilment.add_provider(config)
        uow.commit()


def test_the_allocation_event_yields_one_fulfilment_per_location_dispatched_to_the_warehouse(
    seeded: Container,
) -> None:
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    allocations[1]["location"] = "west"  # a split order
    message = Message(
        "e1",
        "order.allocated",
        f"order:{order_id}",
        {"allocations": allocations},
        "system",
        datetime.now(UTC),
    )
    consumer = next(c for c in internal_consumers() if c.wants("order.allocated"))
    with seeded.uow() as uow:
        consumer.handle(uow, message)
        uow.commit()  # the worker's, with the delivery's receipt
        consumer.handle(uow, message)  # at least once: a redelivery changes nothing
        uow.commit()
    with seeded.uow(read_only=True) as uow:
        found = uow.fulfilment.for_order(order_id)
        order = uow.orders.get(order_id)
        types = [e.type for e in history.events_of(uow.conn, order_id)]
    assert sorted(f.location for f in found) == ["east", "west"]
    assert {f.status for f in found} == {FulfilmentStatus.ACCEPTED}
    assert {f.provider for f in found} == {"warehouse"}
    assert order.status == OrderStatus.IN_FULFILMENT
    assert types.count("fulfilment.created") == 2
    assert types.count("fulfilment.accepted") == 2


def test_a_warehouse_dispatch_reads_the_order_once_and_writes_each_fulfilment_once(
    seeded: Container,
) -> None:
    """The worker's delivery of ``order.allocated`` to the built-in warehouse: the order and
    its fulfilment orders read once, each fulfilment order inserted as it ends up (accepted),
    the events in the order of the three steps (create, then dispatch each) it replaces."""
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    allocations[1]["location"] = "west"  # a split order
    message = Message(
        "e1",
        "order.allocated",
        f"order:{order_id}",
        {"allocations": allocations},
        "system",
        datetime.now(UTC),
    )
    statements: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        at = {"SELECT": words.index("FROM") + 1 if "FROM" in words else 0, "INSERT": 2}
        statements[f"{words[0]} {words[at.get(words[0], 1)]}"] += 1

    with seeded.uow() as uow:
        event.listen(seeded.engine, "before_cursor_execute", count)
        try:
            on_order_allocated(uow, message)
            uow.commit()  # the worker's, with the delivery's mark
        finally:
            event.remove(seeded.engine, "before_cursor_execute", count)
    with seeded.uow(read_only=True) as uow:
        found = uow.fulfilment.for_order(order_id)
        stream = [e.type for e in history.events_of(uow.conn, order_id)]
    assert {f.status for f in found} == {FulfilmentStatus.ACCEPTED}
    assert {f.version for f in found} == {1}
    assert statements["SELECT orders"] == 1
    assert statements["SELECT fulfilment_orders"] == 1
    assert statements["SELECT fulfilment_providers"] == 1
    assert statements["INSERT fulfilment_orders"] == 2
    assert statements["UPDATE fulfilment_orders"] == 0
    assert statements["UPDATE orders"] == 1
    assert stream[stream.index("order.allocated") + 1 :] == [
        "fulfilment.created",
        "fulfilment.created",
        "order.line_status_changed",
        "order.status_changed",
        "fulfilment.dispatched",
        "fulfilment.accepted",
        "order.line_status_changed",
        "fulfilment.dispatched",
        "fulfilment.accepted",
    ]


def test_a_rejected_dispatch_releases_the_reservation_reroutes_and_records_an_exception(
    seeded: Container,
) -> None:
    add_provider(
        seeded,
        ProviderConfig("sim", "Simulated", "simulated", {"reject_rate": 1.0}, locations=["east"]),
    )
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    stock, rerouter = FakeStock(), FakeRerouter(to="west")
    with seeded.uow() as uow, deps(uow, stock=stock, rerouter=rerouter) as d:
        service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch_pending(uow, order_id=order_id, deps=d)
        # the router's new allocation arrives as order.allocated: fulfil it at west
        service.create_fulfilments(uow, order_id=order_id, allocations=rerouter.allocations, deps=d)
        service.dispatch_pending(uow, order_id=order_id, deps=d)
    assert stock.released == [(order_id, "east", [a["line_id"] for a in allocations])]
    assert rerouter.calls == [(order_id, "east")]
    with seeded.uow(read_only=True) as uow:
        by_location = {f.location: f for f in uow.fulfilment.for_order(order_id)}
        (exception,) = uow.fulfilment.exceptions()
        order = uow.orders.get(order_id)
    assert by_location["east"].status == FulfilmentStatus.REJECTED
    assert by_location["east"].provider == "sim"
    assert by_location["west"].status == FulfilmentStatus.ACCEPTED  # the own warehouse
    assert (exception.kind, exception.order_id) == ("stock_out", order_id)
    assert "re-routed" in exception.suggested_action
    assert order.status == OrderStatus.IN_FULFILMENT


def test_a_rejection_nobody_can_reroute_leaves_an_unroutable_exception_and_an_open_order(
    seeded: Container,
) -> None:
    add_provider(
        seeded,
        ProviderConfig("sim", "Simulated", "simulated", {"reject_rate": 1.0}, locations=["east"]),
    )
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    with seeded.uow() as uow, deps(uow, rerouter=FakeRerouter(None)) as d:
        service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch_pending(uow, order_id=order_id, deps=d)
    with seeded.uow(read_only=True) as uow:
        kinds = sorted(e.kind for e in uow.fulfilment.exceptions())
        order = uow.orders.get(order_id)
    assert kinds == ["stock_out", "unroutable"]
    assert order.status == OrderStatus.RECEIVED
    assert {line.status for line in order.lines} == {LineStatus.OPEN}


def test_partial_shipments_then_tracking_move_the_order_to_completed_and_consume_stock(
    seeded: Container,
) -> None:
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    stock = FakeStock()
    first_line, second_line = (a["line_id"] for a in allocations)
    now = datetime.now(UTC)
    with seeded.uow() as uow, deps(uow, stock=stock) as d:
        (fid,) = service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch(uow, fulfilment_id=fid, deps=d)
        service.ship_from_warehouse(
            uow, fulfilment_id=fid, lines={first_line: 1}, carrier="ups", tracking_number="1ZA",
            service="ground", shipped_at=now, deps=d,
        )  # fmt: skip
        assert uow.orders.get(order_id).status == OrderStatus.PARTIALLY_SHIPPED
        uow.rollback()
        service.apply_updates(
            uow,
            provider_code="warehouse",
            updates=[Shipped(fid, "usps", "9400B", now, lines={first_line: 1, second_line: 1})],
            deps=d,
        )
        assert uow.orders.get(order_id).status == OrderStatus.SHIPPED
        uow.rollback()
        for tracking in ("1ZA", "9400B"):
            service.apply_updates(
                uow,
                provider_code="warehouse",
                updates=[
                    TrackingUpdate(tracking, TrackingStatus.DELIVERED, now + timedelta(days=1))
                ],
                deps=d,
            )
    with seeded.uow(read_only=True) as uow:
        order = uow.orders.get(order_id)
        f = uow.fulfilment.get(fid)
    assert order.status == OrderStatus.COMPLETED
    assert {line.status for line in order.lines} == {LineStatus.DELIVERED}
    assert f.status == FulfilmentStatus.DELIVERED
    assert stock.consumed == [
        (order_id, "east", {first_line: 1}),
        (order_id, "east", {first_line: 1, second_line: 1}),
    ]


def test_a_repeated_shipment_callback_is_applied_once(seeded: Container) -> None:
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    now = datetime.now(UTC)
    with seeded.uow() as uow, deps(uow) as d:
        (fid,) = service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch(uow, fulfilment_id=fid, deps=d)
        update = Shipped(fid, "ups", "1ZSAME", now, lines={allocations[0]["line_id"]: 1})
        applied = [
            service.apply_updates(uow, provider_code="warehouse", updates=[update], deps=d)
            for _ in range(2)
        ]
    with seeded.uow(read_only=True) as uow:
        assert len(uow.fulfilment.get(fid).shipments) == 1
    assert applied == [1, 0]


def test_a_provider_cannot_move_another_providers_fulfilment_or_unknown_ones(
    seeded: Container,
) -> None:
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    now = datetime.now(UTC)
    with seeded.uow() as uow, deps(uow) as d:
        (fid,) = service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch(uow, fulfilment_id=fid, deps=d)
        applied = service.apply_updates(
            uow,
            provider_code="acme",
            updates=[
                Shipped(fid, "ups", "X", now),
                Shipped("not-ours", "ups", "Y", now),
                TrackingUpdate("unknown", TrackingStatus.DELIVERED, now),
            ],
            deps=d,
        )
    assert applied == 0
    with seeded.uow(read_only=True) as uow:
        assert uow.fulfilment.get(fid).shipments == []


def test_the_simulated_3pl_ships_and_delivers_when_polled(seeded: Container) -> None:
    add_provider(
        seeded,
        ProviderConfig(
            "sim",
            "Simulated",
            "simulated",
            {"reject_rate": 0.0, "ship_after_minutes": 0},
            locations=["east"],
        ),
    )
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    with seeded.uow() as uow, deps(uow) as d:
        service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch_pending(uow, order_id=order_id, deps=d)
        now = datetime.now(UTC) + timedelta(minutes=1)
        assert service.poll_providers(uow, deps=d, now=now) == 1
        assert service.poll_providers(uow, deps=d, now=now + timedelta(hours=25)) == 1
    with seeded.uow(read_only=True) as uow:
        assert uow.orders.get(order_id).status == OrderStatus.COMPLETED


def test_a_poll_reaches_every_open_fulfilment_a_page_at_a_time(
    seeded: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five open at the simulated 3PL, polled two at a time: all five ship (a poll used to
    read the first 1,000 of each status and never ask about the rest)."""
    add_provider(
        seeded,
        ProviderConfig(
            "sim", "Sim", "simulated", {"reject_rate": 0.0, "ship_after_minutes": 0},
            locations=["east"],
        ),
    )  # fmt: skip
    monkeypatch.setattr(service, "POLL_PAGE", 2)
    order_ids = []
    for n in range(5):
        order_id = place_order(seeded, f"P-{n}")
        allocations = allocate(seeded, order_id)
        with seeded.uow() as uow, deps(uow) as d:
            service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
            service.dispatch_pending(uow, order_id=order_id, deps=d)
        order_ids.append(order_id)
    with seeded.uow() as uow, deps(uow) as d:
        assert (
            service.poll_providers(uow, deps=d, now=datetime.now(UTC) + timedelta(minutes=1)) == 5
        )
    with seeded.uow(read_only=True) as uow:
        assert {uow.orders.get(i).status for i in order_ids} == {OrderStatus.SHIPPED}


def test_cancelling_tells_the_provider_releases_stock_and_keeps_shipped_work(
    seeded: Container,
) -> None:
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    allocations[1]["location"] = "west"
    stock = FakeStock()
    with seeded.uow() as uow, deps(uow, stock=stock) as d:
        service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch_pending(uow, order_id=order_id, deps=d)
        east = next(f for f in uow.fulfilment.for_order(order_id) if f.location == "east")
        uow.rollback()
        service.ship_from_warehouse(
            uow, fulfilment_id=east.id, lines={allocations[0]["line_id"]: 1}, carrier="ups",
            tracking_number="1Z", service=None, shipped_at=None, deps=d,
        )  # fmt: skip
        assert service.cancel_fulfilments(uow, order_id=order_id, reason="customer", deps=d) == 1
    with seeded.uow(read_only=True) as uow:
        statuses = {f.location: f.status for f in uow.fulfilment.for_order(order_id)}
    assert statuses == {"east": FulfilmentStatus.IN_PROGRESS, "west": FulfilmentStatus.CANCELLED}
    assert stock.released == [(order_id, "west", [allocations[1]["line_id"]])]


def test_the_worker_tick_polls_providers_and_runs_the_sla_clocks(seeded: Container) -> None:
    with seeded.uow() as uow:
        assert tick(uow, now=datetime.now(UTC)) == {
            "polled": 0,
            "at_risk": 0,
            "breached": 0,
            "pickups_closed": 0,
            "pickups_expired": 0,
        }


def test_a_provider_outage_fails_the_delivery_and_the_retry_resumes_without_duplicates(
    seeded: Container,
) -> None:
    add_provider(
        seeded,
        ProviderConfig(
            "sim", "Sim", "simulated", {"fail_rate": 1.0, "reject_rate": 0.0}, locations=["east"]
        ),
    )
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    message = Message(
        "e1",
        "order.allocated",
        f"order:{order_id}",
        {"allocations": allocations},
        "system",
        datetime.now(UTC),
    )
    consumer = next(c for c in internal_consumers() if c.wants("order.allocated"))
    with seeded.uow() as uow, pytest.raises(ProviderError):
        consumer.handle(uow, message)  # the worker records the failure and retries later
    with seeded.uow() as uow:
        (waiting,) = uow.fulfilment.for_order(order_id)
        assert waiting.status == FulfilmentStatus.CREATED
        uow.conn.execute(
            t.fulfilment_providers.update().values(settings={"fail_rate": 0.0, "reject_rate": 0.0})
        )
        uow.commit()
    with seeded.uow() as uow:
        consumer.handle(uow, message)
    with seeded.uow(read_only=True) as uow:
        (done,) = uow.fulfilment.for_order(order_id)
    assert done.id == waiting.id
    assert done.status == FulfilmentStatus.ACCEPTED


def test_a_warehouse_dispatch_before_a_provider_outage_is_committed_and_not_redone(
    seeded: Container,
) -> None:
    """A split order, warehouse first then a 3PL that is down: the warehouse dispatch (made
    without a commit of its own) lands with the creation before the 3PL is called."""
    add_provider(
        seeded,
        ProviderConfig(
            "sim", "Sim", "simulated", {"fail_rate": 1.0, "reject_rate": 0.0}, locations=["west"]
        ),
    )
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    allocations[1]["location"] = "west"
    message = Message(
        "e1",
        "order.allocated",
        f"order:{order_id}",
        {"allocations": allocations},
        "system",
        datetime.now(UTC),
    )
    with seeded.uow() as uow, pytest.raises(ProviderError):
        on_order_allocated(uow, message)
    with seeded.uow() as uow:
        statuses = {f.location: f.status for f in uow.fulfilment.for_order(order_id)}
        assert statuses == {"east": FulfilmentStatus.ACCEPTED, "west": FulfilmentStatus.CREATED}
        uow.conn.execute(
            t.fulfilment_providers.update().values(settings={"fail_rate": 0.0, "reject_rate": 0.0})
        )
        uow.commit()
    with seeded.uow() as uow:
        resume_dispatch(uow, message)  # what the worker runs on the retry (the receipt is there)
    with seeded.uow(read_only=True) as uow:
        found = uow.fulfilment.for_order(order_id)
        types = [e.type for e in history.events_of(uow.conn, order_id)]
    assert {f.status for f in found} == {FulfilmentStatus.ACCEPTED}
    assert types.count("fulfilment.created") == 2
    assert types.count("fulfilment.dispatched") == 2
    assert types.count("fulfilment.accepted") == 2


def test_the_worker_retries_a_dispatch_a_provider_outage_failed_and_dispatches_it_once(
    seeded: Container,
) -> None:
    """The delivery's receipt lands with the fulfilment order's creation, before the provider
    call: the retry finds it and must still dispatch what is left in ``created``."""
    add_provider(
        seeded,
        ProviderConfig(
            "sim", "Sim", "simulated", {"fail_rate": 1.0, "reject_rate": 0.0}, locations=["east"]
        ),
    )
    order_id = place_order(seeded)
    allocate(seeded, order_id)  # order.allocated is in the outbox
    clock = FakeClock()
    worker = Worker(seeded, clock=clock)  # every internal consumer, batched as in production
    try:
        while worker.run_once():
            pass
        with seeded.uow() as uow:
            (waiting,) = uow.fulfilment.for_order(order_id)
            assert waiting.status == FulfilmentStatus.CREATED  # the provider was down
            uow.conn.execute(
                t.fulfilment_providers.update().values(
                    settings={"fail_rate": 0.0, "reject_rate": 0.0}
                )
            )
            uow.commit()
        clock.advance(seeded.settings.delivery_backoff_max_seconds + 1)  # the retry is due
        while worker.run_once():
            pass
    finally:
        worker.close()
    with seeded.uow(read_only=True) as uow:
        (done,) = uow.fulfilment.for_order(order_id)
        types = [e.type for e in history.events_of(uow.conn, order_id)]
    assert done.id == waiting.id
    assert done.status == FulfilmentStatus.ACCEPTED
    assert types.count("fulfilment.accepted") == 1


def test_an_allocation_delivered_after_its_fulfilment_was_delivered_changes_nothing(
    seeded: Container,
) -> None:
    """The demo's seeded pick-up is handed over before the worker sees its ``order.allocated``:
    a delivered fulfilment order holds its lines as an open one does, so none is made again
    (it was, and shipping it again failed the delivery on every retry)."""
    order_id = place_order(seeded)
    allocations = allocate(seeded, order_id)
    now = datetime.now(UTC)
    with seeded.uow() as uow, deps(uow, stock=FakeStock()) as d:
        (fid,) = service.create_fulfilments(uow, order_id=order_id, allocations=allocations, deps=d)
        service.dispatch(uow, fulfilment_id=fid, deps=d)
        lines = {str(a["line_id"]): int(a["quantity"]) for a in allocations}
        service.apply_updates(
            uow,
            provider_code="warehouse",
            updates=[Shipped(fid, "usps", "9400C", now, lines=lines)],
            deps=d,
        )
        service.apply_updates(
            uow,
            provider_code="warehouse",
            updates=[TrackingUpdate("9400C", TrackingStatus.DELIVERED, now + timedelta(days=1))],
            deps=d,
        )
        uow.commit()
    message = Message(
        "e1", "order.allocated", f"order:{order_id}", {"allocations": allocations}, "system", now
    )
    consumer = next(c for c in internal_consumers() if c.wants("order.allocated"))
    with seeded.uow() as uow:
        consumer.handle(uow, message)
        uow.commit()
    with seeded.uow(read_only=True) as uow:
        found = uow.fulfilment.for_order(order_id)
        order = uow.orders.get(order_id)
    assert [(f.id, f.status) for f in found] == [(fid, FulfilmentStatus.DELIVERED)]
    assert order.status == OrderStatus.COMPLETED
