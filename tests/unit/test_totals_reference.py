"""Totals, Money arithmetic and an order's stored row against the straightforward computation.

The hot path computes an order's totals in one pass over bare Decimals, skips re-quantizing the
results of Money arithmetic and builds the stored row without ``dataclasses.asdict``. Each test
here recomputes the same figure the plain way — every intermediate a fully checked
``Money(...)`` — and asks for the identical value, exponent and sign, in currencies of 0, 2, 3
and 4 decimals, with discounts, tax, shipping, tax-inclusive prices and cancelled units.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderhub.domain.money import Money, minor_unit_exponent
from orderhub.domain.order_numbers import order_number
from orderhub.domain.orders import (
    Address,
    Customer,
    Order,
    OrderLine,
    Shipping,
    Totals,
)
from orderhub.store.purchase_orders import purchase_order_json
from orderhub.store.repositories import OrderRepository

CURRENCIES = ["JPY", "USD", "KWD", "CLF"]  # 0, 2, 3 and 4 decimals


def _add(a: Money, b: Money) -> Money:
    return Money(a.amount + b.amount, a.currency)


def _sub(a: Money, b: Money) -> Money:
    return Money(a.amount - b.amount, a.currency)


def _share(amount: Money, units: int, of: int) -> Money:
    return Money.rounded(amount.amount * units / of, amount.currency)


def reference_totals(order: Order, *, cancelled: bool) -> Totals:
    """The totals as the hub computed them before: a checked Money at every step."""
    c = order.currency
    zero = Money(Decimal(0), c)
    if cancelled and all(line.open_quantity == 0 for line in order.lines):
        return Totals(zero, zero, zero, zero, zero)

    def kept(component: Money, line: OrderLine) -> Money:
        if not cancelled or not line.cancelled_quantity:
            return component
        return _sub(component, _share(component, line.cancelled_quantity, line.quantity))

    subtotal = discount = tax = zero
    for line in order.lines:
        units = line.open_quantity if cancelled else line.quantity
        subtotal = _add(subtotal, Money(line.unit_price.amount * units, c))
    for line in order.lines:
        discount = _add(discount, kept(line.discount, line))
    discount = _add(discount, order.shipping.discount)
    for line in order.lines:
        tax = _add(tax, kept(line.tax, line))
    tax = _add(tax, order.shipping.tax)
    grand = _add(_sub(subtotal, discount), order.shipping.price)
    if not order.prices_include_tax:
        grand = _add(grand, tax)
    return Totals(subtotal, discount, order.shipping.price, tax, grand)


def _same_money(got: Money, want: Money) -> None:
    """Equal, and written the same (exponent and sign: what ``str`` and ``minor`` show)."""
    assert (got.currency, got.amount.as_tuple()) == (want.currency, want.amount.as_tuple())
    assert (str(got), got.minor) == (str(want), want.minor)


def _same_totals(got: Totals, want: Totals) -> None:
    for figure in ("subtotal", "discount", "shipping", "tax", "total"):
        _same_money(getattr(got, figure), getattr(want, figure))


@st.composite
def amounts(draw: st.DrawFn, currency: str, top: int = 10**9) -> Money:
    minor = draw(st.integers(min_value=0, max_value=top * 10 ** minor_unit_exponent(currency)))
    return Money.from_minor(minor, currency)


@st.composite
def orders(draw: st.DrawFn) -> Order:
    currency = draw(st.sampled_from(CURRENCIES))
    lines = []
    for index in range(draw(st.integers(min_value=0, max_value=5))):
        # Few units make ties likely (half a minor unit goes with a cancelled unit).
        quantity = draw(st.integers(1, 4) | st.integers(min_value=1, max_value=1_000_000))
        lines.append(
            OrderLine(
                id=f"L{index}",
                sku=f"S{index}",
                quantity=quantity,
                unit_price=draw(amounts(currency, top=10**6)),
                discount=draw(amounts(currency, top=10**6)),
                tax=draw(amounts(currency, top=10**6)),
                cancelled_quantity=draw(st.integers(min_value=0, max_value=quantity)),
            )
        )
    return Order(
        id="O",
        channel="web",
        external_id="E-1",
        currency=currency,
        placed_at=datetime(2026, 11, 20, tzinfo=UTC),
        customer=Customer(email="a@example.com"),
        shipping_address=Address(country="US", city="Albany", region="NY"),
        billing_address=draw(st.sampled_from([None, Address(country="GB", name="Accounts")])),
        lines=lines,
        shipping=Shipping(
            price=draw(amounts(currency)),
            tax=draw(amounts(currency)),
            discount=draw(amounts(currency)),
            method=draw(st.sampled_from([None, "ground"])),
        ),
        prices_include_tax=draw(st.booleans()),
    )


@settings(max_examples=300)
@given(orders())
def test_totals_equal_the_step_by_step_computation(order: Order) -> None:
    _same_totals(order.totals, reference_totals(order, cancelled=True))
    _same_totals(order.ordered_totals, reference_totals(order, cancelled=False))


def test_totals_in_currencies_of_every_minor_unit() -> None:
    """Worked examples, so that a slip in the reference would show too."""
    for currency, price, want in [
        ("JPY", "1500", "3100"),  # 2 × 1500 − 100 + 200 (tax 300 included)
        ("KWD", "1.505", "3.110"),  # 2 × 1.505 − 0.100 + 0.200
        ("CLF", "1.0005", "2.1010"),
    ]:
        c = currency

        def m(value: str, c: str = c) -> Money:
            return Money.of(value, c)

        small = {"JPY": "100", "KWD": "0.100", "CLF": "0.1000"}[c]
        order = Order(
            id="O",
            channel="web",
            external_id="E",
            currency=c,
            placed_at=datetime(2026, 11, 20, tzinfo=UTC),
            customer=Customer(email=None),
            shipping_address=None,
            billing_address=None,
            lines=[OrderLine("L", "S", 2, m(price), m(small), m(small) * 3)],
            shipping=Shipping(price=m(small) * 2, tax=m("0"), discount=m("0")),
            prices_include_tax=True,
        )
        assert str(order.totals.total) == want


def test_a_cancelled_share_of_discount_and_tax_rounds_half_even() -> None:
    def kwd(value: str) -> Money:
        return Money.of(value, "KWD")

    line = OrderLine("L", "S", 3, kwd("1.000"), kwd("0.002"), kwd("0.100"), cancelled_quantity=1)
    tie = OrderLine("T", "S", 2, kwd("1.000"), kwd("0.005"), kwd("0.007"), cancelled_quantity=1)
    order = Order(
        id="O",
        channel="web",
        external_id="E",
        currency="KWD",
        placed_at=datetime(2026, 11, 20, tzinfo=UTC),
        customer=Customer(email=None),
        shipping_address=None,
        billing_address=None,
        lines=[line, tie],
        shipping=Shipping(price=kwd("0"), tax=kwd("0"), discount=kwd("0")),
    )
    totals = order.totals
    # A third of 0.002 is 0.000667 → 0.001 goes with the cancelled unit; a third of 0.100 is
    # 0.0333… → 0.033: what stays is 0.001 and 0.067. Half of 0.005 and of 0.007 are ties,
    # 0.0025 → 0.002 and 0.0035 → 0.004: 0.003 and 0.003 stay.
    assert (str(totals.subtotal), str(totals.discount), str(totals.tax)) == (
        "3.000",
        "0.004",
        "0.070",
    )
    assert str(totals.total) == "3.066"
    _same_totals(totals, reference_totals(order, cancelled=True))


def test_a_currency_mismatch_is_still_refused() -> None:
    order = Order(
        id="O",
        channel="web",
        external_id="E",
        currency="USD",
        placed_at=datetime(2026, 11, 20, tzinfo=UTC),
        customer=Customer(email=None),
        shipping_address=None,
        billing_address=None,
        lines=[
            OrderLine("L", "S", 1, Money.of("1", "USD"), Money.of("0", "EUR"), Money.of("0", "USD"))
        ],
        shipping=Shipping(Money.of("0", "USD"), Money.of("0", "USD"), Money.of("0", "USD")),
    )
    with pytest.raises(ValueError, match="currency mismatch: USD vs EUR"):
        _ = order.totals


@given(
    st.sampled_from(CURRENCIES),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(min_value=-(10**6), max_value=10**6),
)
def test_money_arithmetic_equals_the_checked_constructor(
    currency: str, a_minor: int, b_minor: int, n: int
) -> None:
    a, b = Money.from_minor(a_minor, currency), Money.from_minor(b_minor, currency)
    _same_money(a + b, Money(a.amount + b.amount, currency))
    _same_money(a - b, Money(a.amount - b.amount, currency))
    _same_money(a * n, Money(a.amount * n, currency))
    _same_money(-a, Money(-a.amount, currency))
    _same_money(a.share(abs(n) % 7, 7), Money.rounded(a.amount * (abs(n) % 7) / 7, currency))


def test_arithmetic_past_the_decimal_context_is_refused_as_before() -> None:
    """28 significant digits: a sum that would round is refused, not silently rounded."""
    big = Money(Decimal("9" * 26) + Decimal("0.99"), "USD")  # 28 digits
    with pytest.raises(InvalidOperation):
        Money(big.amount + big.amount, "USD")
    with pytest.raises(InvalidOperation):
        _ = big + big
    with pytest.raises(InvalidOperation):
        _ = big * 10
    with pytest.raises(InvalidOperation):
        _ = big - (-big)


def reference_row(order: Order, now: datetime) -> dict[str, Any]:
    """The orders row as stored before (``dataclasses.asdict`` for addresses)."""

    def address(value: Address | None) -> dict[str, Any] | None:
        if value is None:
            return None
        return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}

    totals = reference_totals(order, cancelled=True)
    po = order.purchase_order
    return {
        "status": order.status.value,
        "hold_reason": order.hold_reason,
        "metadata": order.metadata,
        "subtotal_minor": totals.subtotal.minor,
        "discount_minor": totals.discount.minor,
        "tax_minor": totals.tax.minor,
        "total_minor": totals.total.minor,
        "updated_at": now,
        "id": order.id,
        "channel_code": order.channel,
        "external_id": order.external_id,
        "order_number": order_number(order.external_id, order.metadata),
        "currency": order.currency,
        "placed_at": order.placed_at,
        "customer_id": order.customer.id,
        "customer_email": order.customer.email,
        "customer_name": order.customer.name,
        "customer_phone": order.customer.phone,
        "shipping_address": address(order.shipping_address),
        "billing_address": address(order.billing_address),
        "shipping_price_minor": order.shipping.price.minor,
        "shipping_tax_minor": order.shipping.tax.minor,
        "shipping_discount_minor": order.shipping.discount.minor,
        "shipping_method": order.shipping.method,
        "prices_include_tax": order.prices_include_tax,
        "po_number": po.number if po else None,
        "requested_ship_date": po.requested_ship_date if po else None,
        "purchase_order": purchase_order_json(po),
        "delivery": None,
        "version": 1,
        "created_at": now,
    }


@settings(max_examples=100)
@given(orders())
def test_the_stored_row_equals_the_straightforward_one(order: Order) -> None:
    now = datetime(2026, 12, 6, tzinfo=UTC)
    row = OrderRepository._order_row(None, order, now, created=True)  # type: ignore[arg-type]
    want = reference_row(order, now)
    assert row == want
    assert list(row) == list(want)  # the same columns in the same order
    for name in ("shipping_address", "billing_address"):
        assert list(row[name] or {}) == list(want[name] or {})  # JSON key order too
