from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.domain.money import Money, minor_unit_exponent, to_decimal


@pytest.mark.parametrize(("currency", "places"), [("JPY", 0), ("USD", 2), ("EUR", 2), ("KWD", 3)])
def test_minor_units_follow_iso_4217(currency: str, places: int) -> None:
    assert minor_unit_exponent(currency) == places


def test_a_float_is_refused() -> None:
    with pytest.raises(TypeError):
        Money.of(0.1, "USD")
    with pytest.raises(TypeError):
        Money(0.1, "USD")  # type: ignore[arg-type]


def test_more_decimals_than_the_currency_allows_are_refused() -> None:
    with pytest.raises(ValueError, match="JPY"):
        Money.of("100.5", "JPY")
    with pytest.raises(ValueError, match="USD"):
        Money.of("1.005", "USD")
    assert str(Money.of("1.005", "KWD")) == "1.005"


def test_amounts_are_quantized_to_the_minor_unit() -> None:
    assert str(Money.of("5", "USD")) == "5.00"
    assert str(Money.of("5", "JPY")) == "5"
    assert Money.of("12.50", "USD").minor == 1250


def test_currencies_do_not_mix() -> None:
    with pytest.raises(ValueError, match="currency mismatch"):
        Money.of("1", "USD") + Money.of("1", "EUR")


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="ISO 4217"):
        Money.of("1", "XXQ")


def test_rounded_uses_half_even() -> None:
    assert str(Money.rounded(Decimal("0.125"), "USD")) == "0.12"
    assert str(Money.rounded(Decimal("0.135"), "USD")) == "0.14"


def test_to_decimal_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="decimal"):
        to_decimal("12,50")
    with pytest.raises(ValueError, match="finite"):
        to_decimal("NaN")


@given(st.integers(min_value=-(10**12), max_value=10**12), st.sampled_from(["JPY", "USD", "KWD"]))
def test_minor_units_round_trip(minor: int, currency: str) -> None:
    assert Money.from_minor(minor, currency).minor == minor
