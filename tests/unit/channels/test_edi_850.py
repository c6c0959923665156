"""850s shaped like real partners' normalize exactly; bad ones get a rejecting 997."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderhub.channels.edi_x12.ack_997 import build_997, describe
from orderhub.channels.edi_x12.parser import parse_interchange
from orderhub.channels.edi_x12.reader_850 import Read850, price_line, read_purchase_orders
from orderhub.channels.edi_x12.writer import Partner
from orderhub.domain.money import Money
from orderhub.domain.orders import Address, Contact, PaymentTerms
from tests.unit.channels.edi_fixtures import edi

PARTNER = Partner("ZZ", "MERCHANT", "ZZ", "BUYER")
AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def usd(value: str) -> Money:
    return Money.of(value, "USD")


def read(name: str) -> list[Read850]:
    return read_purchase_orders(parse_interchange(edi(name)), channel="acme")


def test_vics_retail_850_normalizes_exactly() -> None:
    [result] = read("vics_850_tilde_newlines.edi")
    draft = result.draft
    assert draft is not None
    assert result.errors == ()
    assert (draft.channel, draft.external_id, draft.currency) == ("acme", "08292233294", "USD")
    assert draft.placed_at == datetime(2010, 11, 27, tzinfo=UTC)
    assert draft.shipping_address == Address(
        country="US", company="XYZ RETAIL", line1="31875 SOLON RD", city="SOLON",
        region="OH", postal_code="44139",
    )  # fmt: skip
    assert draft.billing_address == draft.shipping_address
    facts = [
        (line.channel_line_id, line.channel_sku, line.quantity, line.unit_price, line.name)
        for line in draft.lines
    ]
    assert facts == [
        ("1", "AB3542", 120, usd("9.25"), "SMALL WIDGET"),
        ("2", "RD5322", 220, usd("13.79"), "MEDIUM WIDGET"),
        ("3", "XY5266", 126, usd("10.99"), "LARGE WIDGET"),
        ("4", "VX2332", 76, usd("4.35"), "NANO WIDGET"),
        ("5", "RV0524", 72, usd("7.50"), "BLUE WIDGET"),
        ("6", "DX1875", 696, usd("9.55"), "ORANGE WIDGET"),
    ]  # fmt: skip
    gross = sum((line.unit_price * line.quantity).amount for line in draft.lines)
    assert gross == Decimal(draft.metadata["edi"]["amounts"]["1"]) == Decimal("13045.94")
    po = draft.purchase_order
    assert po is not None
    assert (po.number, po.order_date, po.requested_delivery_date) == (
        "08292233294",
        date(2010, 11, 27),
        date(2010, 12, 14),
    )
    assert po.payment_terms == PaymentTerms(
        net_days=46, discount_percent=Decimal(2), discount_days=45
    )
    assert draft.metadata["edi"]["lines"][0]["product_ids"] == [
        ["CB", "065322-117"], ["PR", "RO"], ["VN", "AB3542"],
    ]  # fmt: skip
    assert draft.metadata["edi"]["parties"]["ship_to"]["id"] == "0003947268292"


def test_newline_terminated_850_gives_the_same_draft_as_the_tilde_one() -> None:
    [tilde] = read("vics_850_tilde_newlines.edi")
    [newline] = read("vics_850_newline_terminator.edi")
    assert newline.draft == tilde.draft


def test_kit_850_without_line_number_takes_its_position_and_vendor_part() -> None:
    [result] = read("petco_850_kit.edi")
    draft = result.draft
    assert draft is not None
    [line] = draft.lines
    assert (line.channel_line_id, line.channel_sku, line.quantity, line.unit_price) == (
        "1",
        "UNKNOWN",
        1,
        usd("225.00"),
    )
    assert line.name == "SU - SPARK - AQ FREEZER PUSHER"
    assert draft.purchase_order is not None
    assert draft.purchase_order.requested_delivery_date == date(2016, 5, 2)
    assert draft.shipping_address is not None
    assert draft.shipping_address.company == "PETCO - CORPORATE"


def test_distributor_interchange_with_three_pos_and_upc_only_lines() -> None:
    results = read("distributor_pipe_two_groups_three_pos.edi")
    drafts = [r.draft for r in results]
    assert all(d is not None for d in drafts)
    first, second, third = (d for d in drafts if d is not None)
    assert [d.external_id for d in (first, second, third)] == ["PO-7001", "PO-7002", "PO-8100"]
    assert [(line.channel_sku, line.quantity) for line in first.lines] == [
        ("012345678905", 3),
        ("036000291452", 10),
    ]
    assert [line.channel_sku for line in second.lines] == ["10012345678902"]
    assert [line.channel_sku for line in third.lines] == ["BOLT-M8", "036000291452"]
    assert first.customer.email == "dana.buyer@example.com"
    assert first.customer.name == "ACME HARDWARE INC"
    assert first.shipping_address == Address(
        country="US", name="RECEIVING DOCK 3", company="ACME STORE 12", line1="100 MAIN ST",
        line2="SUITE 5", city="SPRINGFIELD", region="IL", postal_code="62701",
    )  # fmt: skip
    assert first.billing_address is not None
    assert first.billing_address.company == "ACME HARDWARE AP"
    assert first.shipping.method == "UPS GROUND"
    po = first.purchase_order
    assert po is not None
    assert (po.requested_ship_date, po.requested_delivery_date) == (
        date(2026, 12, 1),
        date(2026, 12, 5),
    )
    assert po.payment_terms == PaymentTerms(30, Decimal(2), 10, "2% 10 NET 30")
    assert po.contacts == (
        Contact("BD", "Dana Buyer", "Dana.Buyer@Example.com", "555-0100"),
        Contact("ST:RE", "Sam Receiver", None, "555-0101"),
    )
    assert po.buyer_name == "ACME HARDWARE INC"


def test_a_four_decimal_unit_price_keeps_the_exact_line_amount() -> None:
    [first, *_] = read("distributor_pipe_two_groups_three_pos.edi")
    assert first.draft is not None
    line = first.draft.lines[0]
    # 3 × 1.2345 = 3.7035 → 3.70 (half-even); unit rounded up to 1.24 less 0.02 rounding.
    assert (line.unit_price, line.discount) == (usd("1.24"), usd("0.02"))
    assert (line.unit_price * line.quantity - line.discount) == usd("3.70")
    assert first.draft.metadata["edi"]["lines"][0]["unit_price"] == "1.2345"


@given(
    unit=st.decimals(min_value=0, max_value=10_000, places=4),
    quantity=st.integers(min_value=1, max_value=10_000),
)
def test_price_line_net_is_the_exact_extension_rounded_half_even(
    unit: Decimal, quantity: int
) -> None:
    price, rounding = price_line(unit, quantity, "USD")
    assert not rounding.is_negative()
    assert (price * quantity - rounding) == Money.rounded(unit * quantity, "USD")


def test_line_count_in_ctt_must_match_and_the_997_names_the_segment() -> None:
    ix = parse_interchange(edi("bad_ctt_line_count.edi"))
    [result] = read_purchase_orders(ix, channel="acme")
    assert result.draft is None
    [error] = result.errors
    assert (error.segment_id, error.position, error.code, error.element) == ("CTT", 31, "8", 1)
    content = {("1421", "000000010"): result.errors}
    ack = build_997(ix, PARTNER, control=12, at=AT, content_errors=content).split("~\n")
    assert ack[2:9] == [
        "ST*997*0001", "AK1*PO*1421", "AK2*850*000000010", "AK3*CTT*31**8", "AK4*1**7",
        "AK5*R*5", "AK9*R*1*1*0",
    ]  # fmt: skip
    assert describe(ix, content).problems == (
        "set 850 000000010: CTT at 31: CTT01 says 5 lines, the order has 6",
    )


def test_hash_total_in_ctt02_is_checked_when_present() -> None:
    text = edi("distributor_pipe_two_groups_three_pos.edi").replace("CTT|2|13", "CTT|2|14")
    results = read_purchase_orders(parse_interchange(text), channel="acme")
    assert [(r.draft is None, [e.segment_id for e in r.errors]) for r in results] == [
        (True, ["CTT"]), (False, []), (False, []),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "segment", "element", "code"),
    [
        (("BEG|00|SA|PO-7002||20261121", "BEG|00|SA|PO-7002||20261321"), "BEG", 5, "8"),
        (("PO1|1|1|CA|120.00", "PO1|1|1.5|CA|120.00"), "PO1", 2, "6"),
        (("PO1|1|1|CA|120.00", "PO1|1|1|CA|12O.00"), "PO1", 4, "6"),
        (("CUR|BY|USD~N1|ST|ACME STORE 40", "CUR|BY|XXX~N1|ST|ACME STORE 40"), "CUR", 2, "7"),
        (("PO1|1|1|CA|120.00", "PO1|1|1|CA|-120.00"), "PO1", 4, "6"),
        (("BEG|00|SA|PO-7002", "BEG|01|SA|PO-7002"), "BEG", 1, "7"),
    ],
)
def test_content_errors_name_segment_and_element(
    change: tuple[str, str], segment: str, element: int, code: str
) -> None:
    text = edi("distributor_pipe_two_groups_three_pos.edi")
    assert change[0] in text
    results = read_purchase_orders(
        parse_interchange(text.replace(change[0], change[1])), channel="a"
    )
    [error] = results[1].errors
    assert (error.segment_id, error.element, error.element_code) == (segment, element, code)


def test_missing_beg_is_a_missing_mandatory_segment() -> None:
    text = edi("vics_850_tilde_newlines.edi").replace(
        "BEG*00*SA*08292233294**20101127*610385385~\n", ""
    )
    text = text.replace("SE*33*", "SE*32*")
    [result] = read_purchase_orders(parse_interchange(text), channel="a")
    assert [(e.segment_id, e.code) for e in result.errors] == [("BEG", "3")]


def test_accepting_997_for_a_multi_group_interchange() -> None:
    ix = parse_interchange(edi("distributor_pipe_two_groups_three_pos.edi"))
    ack = build_997(ix, PARTNER, control=7, at=AT)
    reply = parse_interchange(ack)
    assert reply.errors == []
    assert all(not g.errors for g in reply.groups)
    assert (reply.sender_id, reply.receiver_id) == ("MERCHANT", "ACMEHARDWARE")
    bodies = [[(s.id, s.elements) for s in tx.body] for _g, tx in reply.transactions]
    assert bodies == [
        [("AK1", ("PO", "517")), ("AK2", ("850", "0001")), ("AK5", ("A",)),
         ("AK2", ("850", "0002")), ("AK5", ("A",)), ("AK9", ("A", "2", "2", "2"))],
        [("AK1", ("PO", "518")), ("AK2", ("850", "0101")), ("AK5", ("A",)),
         ("AK9", ("A", "1", "1", "1"))],
    ]  # fmt: skip


def test_broken_interchange_envelope_rejects_every_group_with_a_ta1() -> None:
    ix = parse_interchange(edi("bad_iea_control_number.edi"))
    ack = build_997(ix, PARTNER, control=8, at=AT)
    assert "TA1*000003438*101127*1719*R*001~" in ack
    assert "AK9*R*1*1*0~" in ack
    assert read_purchase_orders(ix, channel="a") == []


def test_one_bad_set_partially_accepts_its_group_and_leaves_the_others() -> None:
    text = edi("distributor_pipe_two_groups_three_pos.edi").replace("CTT|2|13", "CTT|3|13")
    ix = parse_interchange(text)
    content = {
        (r.group.control, r.transaction.control): r.errors
        for r in read_purchase_orders(ix, channel="a")
        if r.errors
    }
    reply = parse_interchange(build_997(ix, PARTNER, control=9, at=AT, content_errors=content))
    ak9 = [s.elements for _g, t in reply.transactions for s in t.body if s.id == "AK9"]
    assert ak9 == [("P", "2", "2", "1"), ("A", "1", "1", "1")]
    ak5 = [s.elements for _g, t in reply.transactions for s in t.body if s.id == "AK5"]
    assert ak5 == [("R", "5"), ("A",), ("A",)]


def test_an_850_without_po1_lines_is_missing_a_mandatory_segment() -> None:
    text = edi("distributor_pipe_two_groups_three_pos.edi")
    old = "PO1|1|1|CA|120.00||UK|10012345678902~CTT|1~SE|9|0002"
    assert old in text
    text = text.replace(old, "SE|7|0002")
    [_first, second, _third] = read_purchase_orders(parse_interchange(text), channel="a")
    assert [(e.segment_id, e.position, e.code) for e in second.errors] == [("PO1", 7, "3")]
