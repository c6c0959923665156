"""Refund arithmetic: the cents always reconcile, whatever the sequence."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderhub.domain.money import Money
from orderhub.domain.refunds import PaidLine, RefundLedger, RefundPolicy, ShippingRefund


def usd(value: str) -> Money:
    return Money.of(value, "USD")


def ledger(*, prices_include_tax: bool = False) -> RefundLedger:
    lines = {
        "a": PaidLine("a", 3, usd("10.00"), discount=usd("1.00"), tax=usd("2.33")),
        "b": PaidLine("b", 1, usd("5.00"), discount=usd("0.00"), tax=usd("0.40")),
    }
    return RefundLedger(
        "USD", lines, shipping=usd("4.99"), shipping_tax=usd("0.40"),
        prices_include_tax=prices_include_tax,
    )  # fmt: skip


def test_one_unit_gets_its_share_of_discount_and_tax_rounded_half_even() -> None:
    refund = ledger().calculate({"a": 1}, policy=RefundPolicy())
    (line,) = refund.lines
    assert (str(line.merchandise), str(line.discount), str(line.tax)) == ("10.00", "0.33", "0.78")
    assert str(refund.amount) == "10.45"


def test_the_last_unit_takes_the_remainder() -> None:
    book = ledger()
    amounts = []
    for _ in range(3):
        refund = book.calculate({"a": 1}, policy=RefundPolicy(shipping=ShippingRefund.NEVER))
        book.apply(refund)
        amounts.append(str(refund.amount))
    # cumulative shares: discount 0.33, 0.67, 1.00 and tax 0.78, 1.55, 2.33
    assert amounts == ["10.45", "10.43", "10.45"]
    assert sum(Decimal(a) for a in amounts) == Decimal("31.33")  # 30.00 - 1.00 + 2.33


def test_shipping_is_refunded_once_when_everything_is_refunded() -> None:
    book = ledger()
    first = book.calculate({"a": 3}, policy=RefundPolicy())
    assert str(first.shipping) == "0.00"
    book.apply(first)
    last = book.calculate({"b": 1}, policy=RefundPolicy())
    assert (str(last.shipping), str(last.shipping_tax)) == ("4.99", "0.40")
    book.apply(last)
    assert first.amount + last.amount == book.paid


def test_refunding_more_units_than_were_paid_is_refused() -> None:
    book = ledger()
    book.apply(book.calculate({"b": 1}, policy=RefundPolicy()))
    with pytest.raises(ValueError, match="exceed"):
        book.calculate({"b": 1}, policy=RefundPolicy())


def test_restocking_fee_and_return_shipping_are_kept_on_returns_only() -> None:
    policy = RefundPolicy(
        shipping=ShippingRefund.NEVER,
        restocking_fee_percent=Decimal(10),
        return_shipping_fee=usd("3.00"),
    )
    returned = ledger().calculate({"a": 1}, policy=policy, is_return=True)
    assert str(returned.fees) == "3.97"  # 10% of 9.67 = 0.967 → 0.97, plus 3.00
    assert str(returned.amount) == "6.48"
    cancelled = ledger().calculate({"a": 1}, policy=policy)
    assert str(cancelled.fees) == "0.00"


def test_tax_inclusive_prices_refund_no_extra_tax() -> None:
    book = ledger(prices_include_tax=True)
    refund = book.calculate({"a": 3, "b": 1}, policy=RefundPolicy())
    book.apply(refund)
    assert refund.amount == book.paid
    assert str(book.paid) == "38.99"  # 30 - 1 + 5 + 4.99


line_strategy = st.tuples(
    st.integers(min_value=1, max_value=7),  # quantity
    st.integers(min_value=0, max_value=50_000),  # unit price, cents
    st.integers(min_value=0, max_value=100),  # discount, percent of gross
    st.integers(min_value=0, max_value=30),  # tax, percent of net
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(line_strategy, min_size=1, max_size=5),
    shipping_cents=st.integers(min_value=0, max_value=2_000),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
    prices_include_tax=st.booleans(),
    policy=st.sampled_from(list(ShippingRefund)),
    data=st.data(),
)
def test_no_sequence_of_partial_refunds_refunds_more_than_was_paid(
    lines: list[tuple[int, int, int, int]],
    shipping_cents: int,
    currency: str,
    prices_include_tax: bool,
    policy: ShippingRefund,
    data: st.DataObject,
) -> None:
    paid_lines = {}
    for index, (quantity, price, discount_pct, tax_pct) in enumerate(lines):
        unit = Money.from_minor(price, currency)
        gross = unit * quantity
        discount = Money.rounded(gross.amount * discount_pct / 100, currency)
        tax = Money.rounded((gross - discount).amount * tax_pct / 100, currency)
        paid_lines[str(index)] = PaidLine(str(index), quantity, unit, discount, tax)
    book = RefundLedger(
        currency,
        paid_lines,
        shipping=Money.from_minor(shipping_cents, currency),
        shipping_tax=Money.from_minor(shipping_cents // 10, currency),
        prices_include_tax=prices_include_tax,
    )
    refunded = Money.zero(currency)
    while any(book.remaining_units.values()):
        line_id = data.draw(st.sampled_from([i for i, n in book.remaining_units.items() if n]))
        count = data.draw(st.integers(min_value=1, max_value=book.remaining_units[line_id]))
        refund = book.calculate({line_id: count}, policy=RefundPolicy(shipping=policy))
        assert not refund.amount.is_negative()
        book.apply(refund)
        refunded = refunded + refund.amount
        assert refunded <= book.paid
    if policy == ShippingRefund.NEVER:
        shipping_paid = book.shipping + (
            Money.zero(currency) if prices_include_tax else book.shipping_tax
        )
        assert refunded == book.paid - shipping_paid
    else:
        assert refunded == book.paid
