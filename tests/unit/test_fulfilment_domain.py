from datetime import UTC, datetime

import pytest

from orderhub.domain import events
from orderhub.domain.errors import IllegalTransition, ValidationFailed
from orderhub.domain.fulfilment import (
    FulfilmentLine,
    FulfilmentOrder,
    FulfilmentStatus,
    TrackingStatus,
    create_fulfilment,
    follow_shipments,
    tracking_url,
)
from orderhub.domain.money import Money
from orderhub.domain.orders import (
    Customer,
    LineDraft,
    LineStatus,
    Order,
    OrderDraft,
    OrderStatus,
    Shipping,
    receive_order,
)

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def usd(value: str) -> Money:
    return Money.of(value, "USD")


def allocated_order() -> Order:
    order = receive_order(
        OrderDraft(
            channel="web",
            external_id="1",
            currency="USD",
            placed_at=NOW,
            customer=Customer(email="a@example.com"),
            shipping_address=None,
            billing_address=None,
            lines=(
                LineDraft("A", 3, usd("10.00"), usd("0"), usd("0")),
                LineDraft("B", 1, usd("5.00"), usd("0"), usd("0")),
            ),
            shipping=Shipping(price=usd("0"), tax=usd("0"), discount=usd("0")),
        )
    )
    for line in order.lines:
        order.set_line_status(line.id, LineStatus.ALLOCATED)
    order.transition_to(OrderStatus.ALLOCATED)
    order.events.clear()
    return order


def fulfilment_for(order: Order, location: str = "east") -> FulfilmentOrder:
    return create_fulfilment(
        order_id=order.id,
        location=location,
        provider="warehouse",
        lines=[FulfilmentLine(x.id, x.sku, x.quantity) for x in order.lines],
        now=NOW,
    )


def test_a_new_fulfilment_records_its_lines_in_a_created_event() -> None:
    order = allocated_order()
    fulfilment = fulfilment_for(order)
    assert fulfilment.status == FulfilmentStatus.CREATED
    (created,) = fulfilment.events
    assert isinstance(created, events.FulfilmentCreated)
    assert [x["quantity"] for x in created.lines] == [3, 1]


def test_lifecycle_runs_created_dispatched_accepted_in_progress_shipped_delivered() -> None:
    order = allocated_order()
    f = fulfilment_for(order)
    f.mark_dispatched(external_ref="X1")
    f.accept()
    parcel = f.ship(
        lines={x.line_id: x.quantity for x in f.lines},
        carrier="ups",
        tracking_number="1Z1",
        shipped_at=NOW,
    )
    assert f.status == FulfilmentStatus.SHIPPED
    f.track(parcel.id, TrackingStatus.OUT_FOR_DELIVERY, at=NOW)
    f.track(parcel.id, TrackingStatus.DELIVERED, at=NOW)
    assert f.status == FulfilmentStatus.DELIVERED
    assert [e.type for e in f.events] == [
        "fulfilment.created",
        "fulfilment.dispatched",
        "fulfilment.accepted",
        "fulfilment.in_progress",
        "shipment.created",
        "fulfilment.shipped",
        "shipment.status_changed",
        "shipment.status_changed",
        "fulfilment.delivered",
    ]


def test_an_undispatched_fulfilment_cannot_be_accepted_or_shipped() -> None:
    f = fulfilment_for(allocated_order())
    with pytest.raises(IllegalTransition):
        f.accept()
    with pytest.raises(IllegalTransition):
        f.ship(lines={f.lines[0].line_id: 1}, carrier="ups", tracking_number=None, shipped_at=NOW)


def test_a_partly_shipped_fulfilment_can_no_longer_be_rejected() -> None:
    f = fulfilment_for(allocated_order())
    f.mark_dispatched(external_ref=None)
    f.ship(lines={f.lines[0].line_id: 1}, carrier="ups", tracking_number="T", shipped_at=NOW)
    assert f.status == FulfilmentStatus.IN_PROGRESS
    with pytest.raises(IllegalTransition):
        f.reject(reason="no stock")


def test_shipping_more_than_is_owed_names_the_line() -> None:
    f = fulfilment_for(allocated_order())
    f.mark_dispatched(external_ref=None)
    line = f.lines[0].line_id
    with pytest.raises(ValidationFailed) as caught:
        f.ship(lines={line: 4, "nope": 1}, carrier="ups", tracking_number=None, shipped_at=NOW)
    assert {e.field for e in caught.value.fields} == {f"lines.{line}", "lines.nope"}


def test_a_delivered_parcel_cannot_go_back_in_transit_and_repeats_are_no_ops() -> None:
    f = fulfilment_for(allocated_order())
    f.mark_dispatched(external_ref=None)
    parcel = f.ship(
        lines={f.lines[1].line_id: 1}, carrier="dhl", tracking_number="D", shipped_at=NOW
    )
    assert f.track(parcel.id, TrackingStatus.DELIVERED, at=NOW) is True
    assert f.track(parcel.id, TrackingStatus.DELIVERED, at=NOW) is False
    with pytest.raises(IllegalTransition):
        f.track(parcel.id, TrackingStatus.IN_TRANSIT, at=NOW)


def test_order_follows_partial_then_full_shipment_then_delivery_to_completed() -> None:
    order = allocated_order()
    a, b = order.lines
    f = fulfilment_for(order)
    f.mark_dispatched(external_ref=None)
    follow_shipments(order, [f])
    assert order.status == OrderStatus.IN_FULFILMENT
    assert a.status == LineStatus.IN_FULFILMENT

    first = f.ship(lines={a.id: 2}, carrier="ups", tracking_number="1", shipped_at=NOW)
    follow_shipments(order, [f])
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert a.status == LineStatus.IN_FULFILMENT  # 2 of 3 units left

    second = f.ship(lines={a.id: 1, b.id: 1}, carrier="ups", tracking_number="2", shipped_at=NOW)
    follow_shipments(order, [f])
    assert order.status == OrderStatus.SHIPPED
    assert {x.status for x in order.lines} == {LineStatus.SHIPPED}

    f.track(first.id, TrackingStatus.DELIVERED, at=NOW)
    follow_shipments(order, [f])
    assert order.status == OrderStatus.SHIPPED  # one parcel still travelling
    f.track(second.id, TrackingStatus.DELIVERED, at=NOW)
    follow_shipments(order, [f])
    assert order.status == OrderStatus.COMPLETED
    assert {x.status for x in order.lines} == {LineStatus.DELIVERED}


def test_a_split_order_ships_only_when_every_location_has_shipped() -> None:
    order = allocated_order()
    a, b = order.lines
    east = create_fulfilment(
        order_id=order.id, location="east", provider="w",
        lines=[FulfilmentLine(a.id, "A", 3)], now=NOW,
    )  # fmt: skip
    west = create_fulfilment(
        order_id=order.id, location="west", provider="w",
        lines=[FulfilmentLine(b.id, "B", 1)], now=NOW,
    )  # fmt: skip
    for f in (east, west):
        f.mark_dispatched(external_ref=None)
    east.ship(lines={a.id: 3}, carrier="ups", tracking_number="E", shipped_at=NOW)
    follow_shipments(order, [east, west])
    assert order.status == OrderStatus.PARTIALLY_SHIPPED
    assert (a.status, b.status) == (LineStatus.SHIPPED, LineStatus.IN_FULFILMENT)
    west.ship(lines={b.id: 1}, carrier="ups", tracking_number="W", shipped_at=NOW)
    follow_shipments(order, [east, west])
    assert order.status == OrderStatus.SHIPPED


def test_rejected_fulfilments_do_not_count_towards_the_order() -> None:
    order = allocated_order()
    f = fulfilment_for(order)
    f.mark_dispatched(external_ref=None)
    f.reject(reason="stock-out")
    follow_shipments(order, [f])
    assert order.status == OrderStatus.ALLOCATED


@pytest.mark.parametrize(
    ("carrier", "number", "url"),
    [
        ("UPS", "1Z999AA1", "https://www.ups.com/track?tracknum=1Z999AA1"),
        (
            "Royal Mail",
            "AB/12",
            "https://www.royalmail.com/track-your-item#/tracking-results/AB%2F12",
        ),
        ("ups", None, None),
        ("local_van", "42", None),
    ],
)
def test_a_tracking_url_is_the_carrier_page_or_none(
    carrier: str, number: str | None, url: str | None
) -> None:
    assert tracking_url(carrier, number) == url
