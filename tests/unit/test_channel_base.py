from decimal import Decimal

import pytest

from orderhub.channels import base
from orderhub.domain.errors import NotNormalizable
from orderhub.domain.money import Money


def usd(value: str) -> Money:
    return Money(Decimal(value), "USD")


def test_json_numbers_with_fractions_are_read_as_decimal_from_their_text() -> None:
    data = base.loads('{"price": 0.1, "tax": 2.675, "qty": 3}')
    assert data == {"price": Decimal("0.1"), "tax": Decimal("2.675"), "qty": 3}
    assert isinstance(data["price"], Decimal)


def test_money_refuses_floats_and_amounts_finer_than_the_currency() -> None:
    with pytest.raises(NotNormalizable):
        base.money(0.1, "USD")
    with pytest.raises(NotNormalizable):
        base.money("1.005", "USD")
    assert base.money("55.9900", "USD") == usd("55.99")


def test_four_decimal_amounts_round_half_even_when_asked() -> None:
    assert base.money_rounded("62.6750", "USD") == usd("62.68")
    assert base.money_rounded("62.6650", "USD") == usd("62.66")


def test_allocation_sums_exactly_and_gives_leftover_cents_to_largest_remainders() -> None:
    shares = base.allocate(usd("10.00"), [usd("1.00"), usd("1.00"), usd("1.00")])
    assert shares == [usd("3.34"), usd("3.33"), usd("3.33")]
    shares = base.allocate(usd("5.00"), [usd("23.80"), usd("9.52")])
    assert shares == [usd("3.57"), usd("1.43")]


def test_allocation_over_zero_weights_gives_nothing() -> None:
    assert base.allocate(usd("1.00"), [usd("0.00")]) == [usd("0.00")]


def test_unit_price_rounds_up_so_the_gross_covers_the_line_total() -> None:
    unit = base.unit_price_of(usd("29.75"), 3)
    assert unit == usd("9.92")
    assert unit * 3 >= usd("29.75")


def test_quantities_must_be_whole() -> None:
    assert base.quantity(Decimal("2.0000")) == 2
    assert base.quantity("3") == 3
    assert base.quantity(0) == 0  # the web stores leave zero to the order's own checks
    with pytest.raises(NotNormalizable) as error:
        base.quantity(Decimal("1.5"), field="items.0.qty")
    assert error.value.problem.reason == "fractional quantity"
    assert error.value.problem.fields[0].field == "items.0.qty"


@pytest.mark.parametrize("value", [0, "-1", Decimal("0.000"), Decimal("1.5")])
def test_a_positive_quantity_refuses_zero_negatives_and_fractions_alike(value: object) -> None:
    assert base.quantity("2", positive=True) == 2
    with pytest.raises(NotNormalizable) as error:
        base.quantity(value, positive=True)
    assert error.value.problem.reason == "bad quantity"
    [field] = error.value.problem.fields
    assert (field.code, field.message) == (
        "bad_quantity",
        f"{base.dec(value)} is not a positive whole quantity",
    )


def test_an_address_trims_every_part_and_needs_a_country() -> None:
    found = base.address(country=" us ", name="  Ana Bell ", line1=" 1 Main St ", phone="")
    assert found is not None
    assert (found.country, found.name, found.line1, found.phone) == (
        "US",
        "Ana Bell",
        "1 Main St",
        None,
    )
    assert base.address(country="  ", name="Ana") is None


def test_hmac_signature_is_base64_and_compared_exactly() -> None:
    body = b'{"id":1}'
    good = base.hmac_sha256_base64("secret", body)
    base.require_hmac_base64(secret="secret", body=body, headers={"x-sig": good}, header="X-Sig")
    with pytest.raises(base.WebhookRejected):
        base.require_hmac_base64(
            secret="secret", body=body + b" ", headers={"x-sig": good}, header="X-Sig"
        )
    with pytest.raises(base.WebhookRejected):
        base.require_hmac_base64(secret="secret", body=body, headers={}, header="X-Sig")


def test_dates_without_a_zone_are_utc_and_offsets_are_converted() -> None:
    assert base.parse_iso("2017-08-21 22:22:19").isoformat() == "2017-08-21T22:22:19+00:00"
    assert base.parse_iso("2019-06-04T13:53:06-04:00").isoformat() == "2019-06-04T17:53:06+00:00"
