from datetime import UTC, datetime

import pytest

from orderhub.domain import events
from orderhub.domain.errors import IllegalTransition, ValidationFailed
from orderhub.domain.money import Money
from orderhub.domain.orders import (
    Customer,
    LineDraft,
    LineStatus,
    OrderDraft,
    OrderStatus,
    Shipping,
    receive_order,
)


def usd(value: str) -> Money:
    return Money.of(value, "USD")


def draft(*, prices_include_tax: bool = False, **overrides: object) -> OrderDraft:
    values: dict[str, object] = {
        "channel": "web",
        "external_id": "1",
        "currency": "USD",
        "placed_at": datetime(2026, 11, 20, 12, 0, tzinfo=UTC),
        "customer": Customer(email=" Ada@Example.com ", name="Ada"),
        "shipping_address": None,
        "billing_address": None,
        "lines": (
            LineDraft("A", 2, usd("10.00"), discount=usd("1.00"), tax=usd("1.52")),
            LineDraft("B", 1, usd("5.00"), discount=usd("0"), tax=usd("0.40")),
        ),
        "shipping": Shipping(price=usd("4.00"), tax=usd("0.32"), discount=usd("0")),
        "prices_include_tax": prices_include_tax,
    }
    values.update(overrides)
    return OrderDraft(**values)  # type: ignore[arg-type]


def test_totals_are_derived_from_lines_and_shipping() -> None:
    totals = receive_order(draft()).totals
    assert (str(totals.subtotal), str(totals.discount), str(totals.shipping)) == (
        "25.00", "1.00", "4.00",
    )  # fmt: skip
    assert str(totals.tax) == "2.24"
    assert str(totals.total) == "30.24"


def test_tax_inclusive_prices_do_not_add_tax_again() -> None:
    totals = receive_order(draft(prices_include_tax=True)).totals
    assert str(totals.tax) == "2.24"
    assert str(totals.total) == "28.00"


def test_receiving_records_one_event_and_normalizes_the_email() -> None:
    order = receive_order(draft())
    assert order.customer.email == "ada@example.com"
    assert [type(e) for e in order.events] == [events.OrderReceived]
    assert order.events[0].data()["total"] == "30.24"


def test_a_naive_placed_at_and_an_empty_order_are_refused() -> None:
    with pytest.raises(ValidationFailed) as error:
        receive_order(draft(placed_at=datetime(2026, 1, 1), lines=()))
    assert {f.field for f in error.value.fields} == {"placed_at", "lines"}


def test_line_problems_name_their_field() -> None:
    bad = LineDraft("A", 0, usd("1.00"), discount=usd("5.00"), tax=Money.of("1", "EUR"))
    with pytest.raises(ValidationFailed) as error:
        receive_order(draft(lines=(bad,)))
    assert {f.field for f in error.value.fields} == {
        "lines.0.quantity", "lines.0.tax", "lines.0.discount",
    }  # fmt: skip


def test_every_problem_of_a_draft_is_listed_in_order_with_its_message() -> None:
    """The answer's ``errors`` list, field by field and in order, for a draft breaking each rule
    (the checks were reorganised for speed: the list must not change)."""
    big = Money.of("1000000001", "USD")
    lines = (
        LineDraft(None, 0, usd("1.00"), discount=usd("5.00"), tax=Money.of("1", "EUR")),
        LineDraft("B", 2_000_000, Money.of("-1", "USD"), discount=big, tax=usd("0")),
        LineDraft("C", 1001, Money.of("999999999", "USD"), discount=usd("0"), tax=big),
    )
    shipping = Shipping(price=big, tax=Money.of("-0.01", "USD"), discount=Money.of("1", "JPY"))
    with pytest.raises(ValidationFailed) as error:
        receive_order(draft(lines=lines, shipping=shipping))
    assert [(f.field, f.message, f.code) for f in error.value.fields] == [
        ("lines.0.sku", "unresolved SKU", "invalid"),
        ("lines.0.quantity", "must be positive", "invalid"),
        ("lines.0.tax", "currency must be USD", "invalid"),
        ("lines.0.discount", "exceeds the line's gross amount", "invalid"),
        ("lines.1.quantity", "at most 1,000,000", "too_large"),
        ("lines.1.unit_price", "must not be negative", "invalid"),
        ("lines.1.discount", "at most 1,000,000,000", "too_large"),
        ("lines.1.discount", "exceeds the line's gross amount", "invalid"),
        ("lines.2.quantity", "quantity × unit_price exceeds 1,000,000,000,000", "too_large"),
        ("lines.2.tax", "at most 1,000,000,000", "too_large"),
        ("shipping.price", "at most 1,000,000,000", "too_large"),
        ("shipping.tax", "must not be negative", "invalid"),
        ("shipping.discount", "currency must be USD", "invalid"),
    ]


def test_illegal_transition_raises_and_changes_nothing() -> None:
    order = receive_order(draft())
    with pytest.raises(IllegalTransition):
        order.transition_to(OrderStatus.SHIPPED)
    assert order.status == OrderStatus.RECEIVED


def test_cancel_cancels_every_line_and_records_why() -> None:
    order = receive_order(draft())
    order.events.clear()
    order.cancel(reason="customer_request")
    assert order.status == OrderStatus.CANCELLED
    assert {line.status for line in order.lines} == {LineStatus.CANCELLED}
    assert isinstance(order.events[-1], events.OrderCancelled)


def test_a_shipped_order_cannot_be_cancelled() -> None:
    order = receive_order(draft())
    order.transition_to(OrderStatus.ALLOCATED)
    order.transition_to(OrderStatus.SHIPPED)
    with pytest.raises(IllegalTransition):
        order.cancel(reason="too late")


def test_line_statuses_follow_their_own_machine() -> None:
    order = receive_order(draft())
    line = order.lines[0]
    order.set_line_status(line.id, LineStatus.ALLOCATED)
    order.set_line_status(line.id, LineStatus.SHIPPED)
    with pytest.raises(IllegalTransition):
        order.set_line_status(line.id, LineStatus.OPEN)


def test_cancelling_some_units_keeps_the_order_open() -> None:
    order = receive_order(draft())
    first, second = order.lines
    order.cancel_units({first.id: 1}, reason="out of stock")
    assert (first.open_quantity, first.status) == (1, LineStatus.OPEN)
    assert order.status == OrderStatus.RECEIVED
    order.cancel_units({first.id: 1, second.id: 1}, reason="customer_request")
    assert order.status == OrderStatus.CANCELLED
    assert order.events[-1].data()["whole_order"] is True


def test_cancelling_more_units_than_are_open_is_refused_and_changes_nothing() -> None:
    order = receive_order(draft())
    first = order.lines[0]
    with pytest.raises(ValidationFailed) as error:
        order.cancel_units({first.id: 3, "nope": 1}, reason="x")
    assert {f.field for f in error.value.fields} == {"lines.0.quantity", "lines.1.line_id"}
    assert first.cancelled_quantity == 0
