"""Product identifiers: GS1 and ISBN check digits, one lookup key per barcode, and SKU
resolution falling back on a line's barcodes after the channel SKU map."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.clock import utc_now
from orderhub.domain.catalog import (
    barcode_key,
    gs1_check_digit,
    identifier_problem,
    match_key,
    resolve_skus,
    validate_identifiers,
)
from orderhub.domain.errors import NotNormalizable, ValidationFailed
from orderhub.domain.money import Money
from orderhub.domain.orders import Customer, LineDraft, OrderDraft, Shipping


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("upc", "036000291452"),  # GS1's UPC-A example
        ("ean", "4006381333931"),
        ("gtin", "96385074"),  # GTIN-8
        ("gtin", "036000291452"),  # a UPC-A is a GTIN-12
        ("gtin", "00036000291452"),  # GTIN-14
        ("isbn", "978-0-306-40615-7"),  # ISBN-13, printed with hyphens
        ("isbn", "0-306-40615-2"),  # ISBN-10
        ("isbn", "0-8044-2957-x"),  # ISBN-10 whose check is X
        ("mpn", "WX-2210-B"),
    ],
)
def test_valid_identifiers_pass(kind: str, value: str) -> None:
    assert identifier_problem(kind, value) is None


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("upc", "036000291453", "check digit is 3, the digits before it give 2"),
        ("upc", "4006381333931", "must be 12 digits"),
        ("ean", "4006381333932", "check digit"),
        ("gtin", "1234567", "must be 8 or 12 or 13 or 14 digits"),
        ("gtin", "03600029145A", "must be 8 or 12 or 13 or 14 digits"),
        ("isbn", "9770306406157", "starts with 978 or 979"),
        ("isbn", "0306406153", "check digit is 3, the digits before it give 2"),
        ("mpn", "   ", "must be 1 to 70 characters"),
    ],
)
def test_invalid_identifiers_say_why(kind: str, value: str, says: str) -> None:
    problem = identifier_problem(kind, value)
    assert problem is not None
    assert says in problem


def test_validation_names_every_invalid_identifier_and_normalizes_the_rest() -> None:
    assert validate_identifiers({"isbn": "0-8044-2957-x", "mpn": " P-1 "}) == {
        "isbn": "080442957X",
        "mpn": "P-1",
    }
    with pytest.raises(ValidationFailed) as error:
        validate_identifiers({"upc": "036000291453", "ean": "4006381333931", "gtin": "1"})
    assert sorted(f.field for f in error.value.fields) == ["identifiers.gtin", "identifiers.upc"]


def test_one_number_has_one_key_whichever_length_or_kind_it_is_given_as() -> None:
    keys = {match_key("upc", "036000291452"), match_key("gtin", "00036000291452")}
    assert keys == {"00036000291452"}
    assert match_key("ean", "0036000291452") == "00036000291452"
    assert match_key("isbn", "0306406152") == match_key("isbn", "9780306406157")
    assert barcode_key("0-306-40615-2") == "09780306406157"
    assert barcode_key("SKU-123") is None
    assert barcode_key("036000291453") is None  # a bad check digit is not looked up


@given(st.text(alphabet="0123456789", min_size=7, max_size=13))
def test_a_body_with_its_gs1_check_digit_is_always_a_valid_gtin(body: str) -> None:
    code = body + str(gs1_check_digit(body))
    if len(code) in (8, 12, 13, 14):
        assert identifier_problem("gtin", code) is None
        wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
        assert identifier_problem("gtin", wrong) is not None


@dataclass
class Catalog:
    skus: set[str]
    maps: dict[str, str] = field(default_factory=dict)
    identifiers: dict[str, str] = field(default_factory=dict)  # match key → SKU

    def known_skus(self, skus: set[str]) -> set[str]:
        return skus & self.skus

    def map_channel_skus(self, channel: str, channel_skus: set[str]) -> dict[str, str]:
        return {s: self.maps[s] for s in channel_skus if s in self.maps}

    def skus_by_identifier(self, keys: set[str]) -> dict[str, str]:
        return {k: self.identifiers[k] for k in keys if k in self.identifiers}


def draft(*lines: LineDraft) -> OrderDraft:
    return OrderDraft(
        channel="edi",
        external_id="PO-1",
        currency="USD",
        placed_at=utc_now(),
        customer=Customer(email=None),
        shipping_address=None,
        billing_address=None,
        lines=lines,
        shipping=Shipping(Money.zero("USD"), Money.zero("USD"), Money.zero("USD")),
    )


def line(channel_sku: str | None, *barcodes: str, mpn: str | None = None) -> LineDraft:
    usd = Money.zero("USD")
    return LineDraft(
        sku=None,
        quantity=1,
        unit_price=usd,
        discount=usd,
        tax=usd,
        channel_sku=channel_sku,
        identifiers=barcodes,
        mpn=mpn,
    )


CATALOG = Catalog(
    skus={"MUG", "TEE", "BOOK"},
    maps={"BUYER-77": "TEE"},
    identifiers={"00036000291452": "MUG", "09780306406157": "BOOK", "mpn:WX-1": "TEE"},
)


def test_lines_the_sku_map_does_not_know_are_resolved_by_their_barcodes_then_mpn() -> None:
    resolved = resolve_skus(
        draft(
            line("BUYER-1", "036000291452"),  # EDI: buyer's part number + UPC
            line("0306406152"),  # the channel's SKU is an ISBN-10
            line("BUYER-2", mpn="WX-1"),
            line("BUYER-77", "036000291452"),  # the SKU map comes first
        ),
        CATALOG,
    )
    assert [x.sku for x in resolved.lines] == ["MUG", "BOOK", "TEE", "TEE"]


def test_a_barcode_no_product_has_leaves_the_line_unknown() -> None:
    with pytest.raises(NotNormalizable) as error:
        resolve_skus(draft(line("BUYER-1", "4006381333931")), CATALOG)
    assert [f.code for f in error.value.problem.fields] == ["unknown_sku"]


def test_a_draft_whose_lines_name_known_master_skus_is_returned_as_it_is() -> None:
    usd = Money.zero("USD")
    named = LineDraft(sku="MUG", quantity=1, unit_price=usd, discount=usd, tax=usd)
    given_draft = draft(named, line("BUYER-77"))
    resolved = resolve_skus(given_draft, CATALOG)
    assert resolved.lines[0] is named  # frozen: nothing to copy
    assert [x.sku for x in resolved.lines] == ["MUG", "TEE"]
    assert given_draft.lines[1].sku is None  # the draft given is not changed
    only_named = draft(named, named)
    assert resolve_skus(only_named, CATALOG) is only_named
