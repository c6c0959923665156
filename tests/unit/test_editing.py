"""The order-edit rules of the domain (no I/O): what is checked, how the money moves."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderhub.domain.editing import (
    AddLine,
    AppliedEdit,
    ChangeLine,
    EditRefused,
    OrderEdit,
    ShippingChange,
    apply_edit,
    prepare_edit,
)
from orderhub.domain.errors import ValidationFailed
from orderhub.domain.money import Money
from orderhub.domain.orders import Address, LineDraft, LineStatus, Order, OrderStatus, receive_order
from tests.unit.test_orders import draft, usd

KNOWN = {"A", "B", "C"}


def order() -> Order:
    """A: 3 × 10.00, discount 1.00, tax 2.33; B: 1 × 5.00, tax 0.40; shipping 4.00 + 0.32."""
    lines = (
        LineDraft("A", 3, usd("10.00"), discount=usd("1.00"), tax=usd("2.33")),
        LineDraft("B", 1, usd("5.00"), discount=usd("0"), tax=usd("0.40")),
    )
    return receive_order(draft(lines=lines))


def applied(target: Order, edit: OrderEdit) -> AppliedEdit:
    return apply_edit(target, prepare_edit(target, edit, known_skus=KNOWN))


def test_raising_a_quantity_adds_units_with_their_rounded_share_of_discount_and_tax() -> None:
    target = order()
    a = target.lines[0]
    result = applied(target, OrderEdit(change_lines=(ChangeLine(a.id, 4),)))
    assert (a.quantity, a.discount, a.tax) == (4, usd("1.33"), usd("3.11"))  # + 0.33, + 0.78
    assert result.difference == usd("10.45")


def test_lowering_a_quantity_cancels_units_and_zero_cancels_the_line() -> None:
    target = order()
    a, b = target.lines
    result = applied(target, OrderEdit(change_lines=(ChangeLine(a.id, 2), ChangeLine(b.id, 0))))
    assert (a.quantity, a.cancelled_quantity, a.open_quantity) == (3, 1, 2)
    assert b.status == LineStatus.CANCELLED
    # the unit of A gives back 10.00 − 0.33 + 0.78 (the refund split), B 5.40
    assert result.difference == -usd("15.85")
    assert result.diff["lines"] == [
        {"line_id": a.id, "sku": "A", "before": 3, "after": 2},
        {"line_id": b.id, "sku": "B", "before": 1, "after": 0},
    ]


def test_an_added_line_takes_the_price_of_the_orders_line_of_that_sku() -> None:
    target = order()
    result = applied(target, OrderEdit(add_lines=(AddLine("A", 1),)))
    new = target.lines[-1]
    assert (new.sku, new.unit_price, new.discount, new.tax) == (
        "A",
        usd("10.00"),
        usd("0.33"),
        usd("0.78"),
    )
    assert new.status == LineStatus.OPEN
    assert result.diff["added_lines"][0]["line_id"] == new.id


def test_another_sku_needs_a_price_and_bad_parts_are_all_named() -> None:
    target = order()
    edit = OrderEdit(
        add_lines=(AddLine("C", 1), AddLine("Z", 1), AddLine("C", 1, unit_price=Decimal("1.001"))),
        change_lines=(ChangeLine("nope", 1),),
        shipping=ShippingChange(price=Decimal("0.005")),
    )
    with pytest.raises(ValidationFailed) as refused:
        prepare_edit(target, edit, known_skus=KNOWN)
    assert {(f.field, f.code) for f in refused.value.fields} == {
        ("add_lines.0.unit_price", "price_required"),
        ("add_lines.1.sku", "unknown_sku"),
        ("add_lines.2.unit_price", "precision"),
        ("change_lines.0.line_id", "unknown_line"),
        ("shipping.price", "precision"),
    }


def test_a_cancelled_line_or_one_with_refunds_cannot_grow() -> None:
    target = order()
    a, b = target.lines
    target.cancel_units({b.id: 1}, reason="other")
    with pytest.raises(ValidationFailed) as refused:
        prepare_edit(
            target,
            OrderEdit(change_lines=(ChangeLine(a.id, 4), ChangeLine(b.id, 1))),
            known_skus=KNOWN,
            refunded_units={a.id: 1},
        )
    assert [(f.field, f.code) for f in refused.value.fields] == [
        ("change_lines.0.quantity", "refunded"),
        ("change_lines.1.line_id", "cancelled"),
    ]


def test_nothing_to_change_and_nothing_left_are_refused() -> None:
    target = order()
    same = OrderEdit(shipping=ShippingChange(price=Decimal("4.00")))
    with pytest.raises(ValidationFailed, match="changes nothing"):
        prepare_edit(target, same, known_skus=KNOWN)
    zero = tuple(ChangeLine(line.id, 0) for line in target.lines)
    with pytest.raises(ValidationFailed) as refused:
        prepare_edit(target, OrderEdit(change_lines=zero), known_skus=KNOWN)
    assert refused.value.fields[0].code == "empty_order"


def test_a_shipped_order_is_refused_naming_its_shipped_lines() -> None:
    target = order()
    a = target.lines[0]
    target.status = OrderStatus.PARTIALLY_SHIPPED
    a.status = LineStatus.SHIPPED
    with pytest.raises(EditRefused) as refused:
        prepare_edit(target, OrderEdit(shipping_address=Address("US")), known_skus=KNOWN)
    assert refused.value.lines == [a.id]
    assert refused.value.extensions()["reason"] == "shipped"
    assert "cancel_and_replace" in refused.value.extensions()


def test_the_address_and_shipping_are_replaced_and_the_totals_recomputed_exactly() -> None:
    target = order()
    result = applied(
        target,
        OrderEdit(
            shipping_address=Address("US", region="CA"),
            shipping=ShippingChange(method="express", price=Decimal("9.99")),
        ),
    )
    assert target.shipping_address == Address("US", region="CA")
    assert (target.shipping.method, target.shipping.price) == ("express", usd("9.99"))
    assert result.difference == Money(Decimal("5.99"), "USD")
    assert result.diff["shipping"]["before"]["price"] == "4.00"
