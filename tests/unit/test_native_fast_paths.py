"""The native channel's fast paths answer as the code they shortcut: the amounts' fit to the
currency checked in one loop, and drafts built inline (each amount its own ``Money``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from orderhub.channels.native import NativeOrder, _all_fit, _too_fine
from orderhub.domain.money import Money, minor_unit_exponent
from orderhub.domain.orders import Customer

_CURRENCIES = ("JPY", "USD", "KWD", "CLF")
_amounts = st.one_of(
    st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False),
    st.decimals(min_value=0, max_value=10**9, places=0, allow_nan=False),
    st.sampled_from([Decimal("-0"), Decimal("0E-7"), Decimal("1.50"), Decimal("1E+3")]),
)


def _order(currency: str, amounts: list[Decimal]) -> dict[str, Any]:
    line_amounts = [amounts[i : i + 3] for i in range(0, len(amounts) - 3, 3)]
    price, tax, discount = amounts[-3:]
    return {
        "channel": "web",
        "external_id": "F-1",
        "currency": currency,
        "placed_at": "2026-11-20T14:30:00Z",
        "customer": {"email": " A@Example.com "},
        "lines": [
            {"sku": f"S{i}", "quantity": 1, "unit_price": str(p), "discount": str(d), "tax": str(t)}
            for i, (p, d, t) in enumerate(line_amounts)
        ],
        "shipping": {"price": str(price), "tax": str(tax), "discount": str(discount)},
    }


def _too_fine_fields(order: NativeOrder) -> list[tuple[str | int, ...]]:
    """The fields the model validator names, as it finds them amount by amount."""
    places = minor_unit_exponent(order.currency)
    quantum = Decimal(1).scaleb(-places)
    return [
        ("lines", i, name)
        for i, line in enumerate(order.lines)
        for name in ("unit_price", "discount", "tax")
        if _too_fine(getattr(line, name), places, quantum)
    ] + [
        ("shipping", name)
        for name in ("price", "tax", "discount")
        if _too_fine(getattr(order.shipping, name), places, quantum)
    ]


@given(st.sampled_from(_CURRENCIES), st.lists(_amounts, min_size=6, max_size=12))
def test_the_one_loop_fit_agrees_with_the_check_amount_by_amount(
    currency: str, amounts: list[Decimal]
) -> None:
    payload = _order(currency, amounts[: len(amounts) // 3 * 3])
    # Built without validation: the model validator under test would refuse the unfit ones.
    lenient = NativeOrder.model_validate(_lenient(payload))
    order = NativeOrder.model_construct(**{**lenient.__dict__, "currency": currency})
    assert _all_fit(order, Money.zero(currency).amount) == (not _too_fine_fields(order))
    try:
        NativeOrder.model_validate(payload)
    except ValidationError as error:
        named = [e["loc"] for e in error.errors() if e["type"] == "decimal_places"]
        assert named == _too_fine_fields(order)
    else:
        assert not _too_fine_fields(order)


def _lenient(payload: dict[str, Any]) -> dict[str, Any]:
    """The same order in a currency with four decimals, so that every amount validates."""
    return {**payload, "currency": "CLF"}


def _omit(payload: dict[str, Any], left_out: list[bool]) -> dict[str, Any]:
    """The payload with the amounts a client may leave out dropped where ``left_out`` says."""
    holders = [*payload["lines"], payload["shipping"]]
    optional = [(h, k) for h in holders for k in ("price", "discount", "tax") if k in h]
    for (holder, key), drop in zip(optional, left_out, strict=False):
        if drop:
            del holder[key]
    return payload


@given(
    st.sampled_from(_CURRENCIES),
    st.lists(_amounts, min_size=6, max_size=12),
    st.lists(st.booleans(), max_size=12),
)
def test_a_draft_holds_each_amount_as_money_built_by_its_constructor(
    currency: str, amounts: list[Decimal], left_out: list[bool]
) -> None:
    """Amounts left out share one zero Money: equal, exponent and sign included, to the one
    the constructor builds from the field's default."""
    payload = _omit(_order(currency, amounts[: len(amounts) // 3 * 3]), left_out)
    try:
        order = NativeOrder.model_validate(payload)
    except ValidationError:
        return
    draft = order.to_draft()
    for line, drafted in zip(order.lines, draft.lines, strict=True):
        for name in ("unit_price", "discount", "tax"):
            expected = Money(getattr(line, name), currency)
            assert repr(getattr(drafted, name).amount) == repr(expected.amount)
    for name in ("price", "tax", "discount"):
        expected = Money(getattr(order.shipping, name), currency)
        assert repr(getattr(draft.shipping, name).amount) == repr(expected.amount)
    assert draft.customer == Customer(email="a@example.com")
